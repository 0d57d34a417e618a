"""Handing one sales rep's portfolio to another (SPEC §3 `/crm reassign @from @to`, admins).

In one transaction, every third party of @from gets @to in @from's place among its reps (once:
where @to was a rep already, @from just leaves), and every open document whose rep is @from
moves to @to. Open means draft or validated: a proposal not yet signed or refused, an order
not yet delivered or billed, an intervention not done, an invoice not paid or abandoned; what
is closed keeps the rep who closed it, as the figures (crm.stats) credit them.

Each third party touched gets one COMPANY_MODIFY: its reps before and after, and the open
documents that moved with it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from crm import agenda, records, thirdparties
from crm.context import Context, UnitOfWork
from crm.errors import ValidationError
from crm.permissions import held_by, require_admin, visible_documents, visible_thirdparties
from crm.users import ensure_users
from models import Document

OPEN_STATUSES = ("draft", "validated")
WHAT = "reassign a rep's third parties and documents"


@dataclass(frozen=True)
class Reassignment:
    from_id: str
    to_id: str
    thirdparties: int  # those whose reps changed
    documents: int  # open documents that changed rep


async def plan(ctx: Context, from_id: str, to_id: str) -> Reassignment:
    """What `reassign` would move, for its confirmation."""
    from_id, to_id = _check(ctx, from_id, to_id)
    return Reassignment(from_id, to_id, await _portfolio(ctx, from_id).count(),
                        await _open_documents(ctx, from_id).count())


async def reassign(ctx: Context, from_id: str, to_id: str) -> Reassignment:
    from_id, to_id = _check(ctx, from_id, to_id)
    reason = f"sales rep {from_id} reassigned to {to_id}"
    async with ctx.transaction() as uow:
        await ensure_users(uow, [to_id], ctx.settings.default_role)
        documents = await _open_documents(ctx, from_id).select_for_update().using_db(uow.connection)
        moved = defaultdict(list)  # third party id -> its documents that move
        for document in documents:
            moved[document.thirdparty_id].append(records.document_ref(document.ref, document.id))
        await Document.filter(id__in=[d.id for d in documents]).using_db(uow.connection).update(
            rep_id=to_id, updated_at=uow.now, updated_by=ctx.actor.id)
        portfolio = await _portfolio(ctx, from_id).using_db(uow.connection).values_list("id", flat=True)
        for thirdparty_id in portfolio:
            _, reps = await thirdparties.tags_and_reps(thirdparty_id, uow.connection)
            await thirdparties.update(ctx, thirdparty_id, {}, sales_reps=_replaced(reps, from_id, to_id),
                                      reason=_with_documents(reason, moved.pop(thirdparty_id, [])))
        for thirdparty_id, refs in moved.items():  # documents of @from on third parties @from is no rep of
            if thirdparty_id is not None:
                await _record_documents_moved(ctx, uow, thirdparty_id, from_id, to_id, refs)
    return Reassignment(from_id, to_id, len(portfolio), len(documents))


def _check(ctx: Context, from_id: str, to_id: str) -> tuple[str, str]:
    require_admin(ctx.actor, WHAT)
    if not from_id or not to_id:
        raise ValidationError("reps", "Name two people: the rep whose portfolio moves, then the one who takes it.")
    [from_id] = thirdparties.clean_reps([from_id])
    [to_id] = thirdparties.clean_reps([to_id])
    if from_id == to_id:
        raise ValidationError("reps", "Name two different people: the portfolio moves from the first to the second.")
    return from_id, to_id


def _portfolio(ctx: Context, rep_id: str):
    return visible_thirdparties(ctx.actor).filter(id__in=held_by(rep_id)).order_by("id")


def _open_documents(ctx: Context, rep_id: str):
    return visible_documents(ctx.actor).filter(rep_id=rep_id, status__in=OPEN_STATUSES).order_by("id")


def _replaced(reps: list[str], from_id: str, to_id: str) -> list[str]:
    """The reps with `to_id` in `from_id`'s place, each once (the first stays the default rep)."""
    return list(dict.fromkeys(to_id if rep == from_id else rep for rep in reps))


def _with_documents(reason: str, refs: list[str]) -> str:
    return f"{reason}, with {', '.join(refs)}" if refs else reason


async def _record_documents_moved(ctx: Context, uow: UnitOfWork, thirdparty_id: int, from_id: str, to_id: str,
                                  refs: list[str]) -> None:
    await agenda.record(uow, "COMPANY_MODIFY", ctx.actor, thirdparty_id,
                        f"Open documents moved to sales rep {to_id}: {', '.join(refs)}",
                        details={"changes": {"documents_rep": [from_id, to_id]}, "documents": refs})
