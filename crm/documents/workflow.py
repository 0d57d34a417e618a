"""What may happen to a document in each status: the moves, the conversions, and their events.

Pure rules, no database: the use cases (crm.documents.service) check every change here first,
and the document card asks here which buttons to show.

    proposal      draft -> validated -> signed | refused;  signed -> billed
    order         draft -> validated -> closed (delivered);  validated | closed -> billed
    intervention  draft -> validated -> done
    invoice       draft -> validated -> paid (by its payments) | abandoned

A validated proposal or order can go back to draft while nothing was made from it; a
validated invoice never changes (a credit note will correct it).
"""
from __future__ import annotations

from dataclasses import dataclass

from crm.errors import Conflict

TYPE_LABELS = {"proposal": "Proposal", "order": "Sales order", "intervention": "Intervention", "invoice": "Invoice"}
STATUS_LABELS = {
    "draft": "Draft", "validated": "Validated", "signed": "Signed", "refused": "Refused", "billed": "Billed",
    "closed": "Delivered", "done": "Done", "paid": "Paid", "abandoned": "Abandoned",
}
STATUSES = {
    "proposal": ("draft", "validated", "signed", "refused", "billed"),
    "order": ("draft", "validated", "closed", "billed"),
    "intervention": ("draft", "validated", "done"),
    "invoice": ("draft", "validated", "paid", "abandoned"),
}
EVENT_PREFIX = {"proposal": "PROPAL", "order": "ORDER", "intervention": "FICHINTER", "invoice": "BILL"}
# Validating these (signing, for a proposal) makes a prospect a customer.
WINS_A_CUSTOMER = {("proposal", "signed"), ("order", "validated"), ("invoice", "validated")}
# What each type can be made into, and from which statuses.
CONVERSIONS = {
    "proposal": (("order", "invoice", "intervention"), ("signed",)),
    "order": (("invoice", "intervention"), ("validated", "closed")),
}
# A validated invoice made from these marks them billed (Dolibarr does it on BILL_VALIDATE).
BILLABLE = {"proposal": ("signed",), "order": ("validated", "closed")}


@dataclass(frozen=True)
class Move:
    name: str
    label: str  # the button
    target: str
    sources: dict[str, tuple[str, ...]]  # document type -> the statuses it starts from
    events: dict[str, str]  # document type -> the agenda event it records (none for some)


MOVES = {move.name: move for move in (
    Move("validate", "Validate", "validated", {t: ("draft",) for t in STATUSES},
         {t: f"{prefix}_VALIDATE" for t, prefix in EVENT_PREFIX.items()}),
    Move("reopen", "Back to draft", "draft", {"proposal": ("validated",), "order": ("validated",)}, {}),
    Move("sign", "Signed", "signed", {"proposal": ("validated",)}, {"proposal": "PROPAL_CLOSE_SIGNED"}),
    Move("refuse", "Refused", "refused", {"proposal": ("validated",)}, {"proposal": "PROPAL_CLOSE_REFUSED"}),
    Move("close", "Delivered", "closed", {"order": ("validated",)}, {"order": "ORDER_CLOSE"}),
    Move("bill", "Billed", "billed", BILLABLE,
         {"proposal": "PROPAL_CLASSIFY_BILLED", "order": "ORDER_CLASSIFY_BILLED"}),
    Move("done", "Done", "done", {"intervention": ("validated",)}, {"intervention": "FICHINTER_CLASSIFY_DONE"}),
    Move("abandon", "Abandon", "abandoned", {"invoice": ("validated",)}, {"invoice": "BILL_CANCEL"}),
)}
PAID = Move("pay", "Record a payment", "paid", {"invoice": ("validated",)}, {"invoice": "BILL_PAYED"})


def describe(doc_type: str, status: str) -> str:
    """"a signed proposal", "a validated invoice"."""
    words = f"{STATUS_LABELS[status].lower()} {TYPE_LABELS[doc_type].lower()}"
    return f"an {words}" if words[0] in "aeiou" else f"a {words}"


def check_move(move: Move, doc_type: str, status: str) -> None:
    if status not in move.sources.get(doc_type, ()):
        raise Conflict(f"{describe(doc_type, status).capitalize()} cannot be {_past(move)}. "
                       f"{_what_it_can_do(doc_type, status)}")


def moves_from(doc_type: str, status: str) -> list[Move]:
    """The moves a document in `status` allows, in the order buttons show them."""
    return [move for move in MOVES.values() if status in move.sources.get(doc_type, ())]


def conversions_from(doc_type: str, status: str) -> tuple[str, ...]:
    targets, sources = CONVERSIONS.get(doc_type, ((), ()))
    return targets if status in sources else ()


def check_conversion(doc_type: str, status: str, to_type: str) -> None:
    targets, sources = CONVERSIONS.get(doc_type, ((), ()))
    if to_type not in targets:
        made = ", ".join(TYPE_LABELS[t].lower() for t in targets) or "nothing"
        raise Conflict(f"A {TYPE_LABELS[doc_type].lower()} cannot be made into "
                       f"{describe_type(to_type)}; it can be made into: {made}.")
    if status not in sources:
        states = " or ".join(STATUS_LABELS[s].lower() for s in sources)
        raise Conflict(f"Only a {states} {TYPE_LABELS[doc_type].lower()} can be made into "
                       f"{describe_type(to_type)}; this one is {STATUS_LABELS[status].lower()}.")


def describe_type(doc_type: str) -> str:
    label = TYPE_LABELS[doc_type].lower()
    return f"an {label}" if label[0] in "aeiou" else f"a {label}"


def check_editable(doc_type: str, status: str) -> None:
    if status != "draft":
        hint = " Put it back to draft first." if "reopen" in {m.name for m in moves_from(doc_type, status)} else ""
        raise Conflict(f"Only a draft can be changed; this is {describe(doc_type, status)}.{hint}")


def check_deletable(doc_type: str, status: str) -> None:
    if status != "draft":
        raise Conflict(f"Only a draft can be deleted; this is {describe(doc_type, status)}."
                       + (" An invoice is corrected by a credit note, never deleted." if doc_type == "invoice" else ""))


def _past(move: Move) -> str:
    return {"validate": "validated", "reopen": "put back to draft", "sign": "signed", "refuse": "refused",
            "close": "delivered", "bill": "classified billed", "done": "classified done",
            "abandon": "abandoned", "pay": "paid"}[move.name]


def _what_it_can_do(doc_type: str, status: str) -> str:
    moves = [_past(move) for move in moves_from(doc_type, status)]
    if doc_type == "invoice" and status == "validated":
        moves.append("paid")
    return f"It can be {', '.join(moves)}." if moves else "Nothing more can happen to it."
