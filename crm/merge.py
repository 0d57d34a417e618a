"""Merging two third parties into one (SPEC §3 `/crm merge REF into REF`).

The plan says, field by field, what the kept record becomes: types combine (a prospect and a
customer make a "both"), its empty fields are filled from the other, notes are put together,
tags, sales reps and custom fields are combined; where both hold a value, the kept record's
wins and the other's is shown (and kept in the COMPANY_MERGE snapshot). Merging applies the
plan in one transaction: everything that hangs off the removed record (crm.linked) moves to
the kept one, contacts with the same email become one, the removed code keeps resolving to
the kept record, and the removed record is deleted.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from crm import agenda, customfields, linked, records, search, thirdparties
from crm.context import Context, UnitOfWork
from crm.errors import Conflict, ValidationError
from crm.fieldtypes import to_storage
from crm.permissions import require_writer, visible_thirdparty
from crm.records import ThirdPartyRecord
from models import Contact, ThirdPartyAlias

TEXT_FIELDS = ("name", "alias", "email", "phone", "website", "address", "zip", "town", "country", "language",
               "vat_id")
NOTES = ("note_public", "note_private")


@dataclass(frozen=True)
class FieldOutcome:
    label: str
    kept: str  # the kept record's value, as text ("" for none)
    other: str  # the removed record's
    result: str  # what the kept record holds after the merge

    @property
    def other_dropped(self) -> bool:
        """Both held a value and the kept one wins: the other survives only in the snapshot."""
        return bool(self.kept and self.other and self.other not in self.result)


@dataclass(frozen=True)
class MergePlan:
    kept: ThirdPartyRecord
    removed: ThirdPartyRecord
    fields: list[FieldOutcome]
    moving: dict[str, int]  # what hangs off the removed record, by kind, with its count
    same_email_contacts: int  # contacts of the removed record that become one with a kept contact
    fingerprint: str  # of both records as the plan saw them: a merge confirmed on an older view is refused
    values: dict  # the kept record's built-in fields after the merge
    tags: list[str]
    sales_reps: list[str]
    custom: dict  # custom field key -> value, for those the kept record gains


async def plan(ctx: Context, removed_id: int, kept_id: int) -> MergePlan:
    require_writer(ctx.actor, "merge third parties")
    async with ctx.transaction() as uow:
        return await _plan(ctx, uow, removed_id, kept_id)


async def merge(ctx: Context, removed_id: int, kept_id: int, *, confirmed: str | None = None) -> ThirdPartyRecord:
    """Merge `removed_id` into `kept_id`, all or nothing; with `confirmed` (MergePlan.fingerprint),
    only if neither record changed since the plan was shown."""
    require_writer(ctx.actor, "merge third parties")
    async with ctx.transaction() as uow:
        for thirdparty_id in sorted((removed_id, kept_id)):  # one lock order for every merge: no deadlock
            await visible_thirdparty(ctx.actor, thirdparty_id, uow.connection, for_update=True)
        merging = await _plan(ctx, uow, removed_id, kept_id)
        if confirmed is not None and confirmed != merging.fingerprint:
            raise Conflict(f"{merging.kept.name} or {merging.removed.name} changed since the merge was shown; "
                           "nothing was merged. Run /crm merge again to see them as they are now.")
        snapshot = await _snapshot(uow, merging.removed)
        await _fold_contacts(uow, removed_id, kept_id)
        for kind in linked.KINDS:
            await kind.move(uow, removed_id, kept_id)
        await _keep_code(uow, merging.removed, kept_id)
        await linked.delete_thirdparty(uow, removed_id)  # its own custom values, tags and reps go with it
        kept, _ = await thirdparties.update(ctx, kept_id, merging.values, tags=merging.tags,
                                            sales_reps=merging.sales_reps, custom=merging.custom,
                                            reason=f"merged with {merging.removed.name} ({merging.removed.code})")
        await search.refresh(uow, kept_id)
        await agenda.record(uow, "COMPANY_MERGE", ctx.actor, kept_id,
                            f"{merging.removed.name} ({merging.removed.code}) merged into {kept.name}",
                            details={"removed": snapshot,
                                     "kept_over": {o.label: o.other for o in merging.fields if o.other_dropped}})
    return kept


async def _plan(ctx: Context, uow: UnitOfWork, removed_id: int, kept_id: int) -> MergePlan:
    if removed_id == kept_id:
        raise ValidationError("REF", "Those are the same third party: name two different ones.")
    connection = uow.connection
    kept = records.thirdparty(await visible_thirdparty(ctx.actor, kept_id, connection))
    removed = records.thirdparty(await visible_thirdparty(ctx.actor, removed_id, connection))
    fields = await customfields.definitions("thirdparty", connection)
    kept_custom = await customfields.current(uow, "thirdparty", kept_id, fields)
    removed_custom = await customfields.current(uow, "thirdparty", removed_id, fields)
    kept_tags, kept_reps = await thirdparties.tags_and_reps(kept_id, connection)
    removed_tags, removed_reps = await thirdparties.tags_and_reps(removed_id, connection)

    outcomes = [FieldOutcome("Type", thirdparties.TYPE_LABELS[kept.type], thirdparties.TYPE_LABELS[removed.type],
                             thirdparties.TYPE_LABELS[combined_type(kept.type, removed.type)])]
    values = {"type": combined_type(kept.type, removed.type)}
    for name in TEXT_FIELDS:
        mine, theirs = getattr(kept, name), getattr(removed, name)
        values[name] = mine or theirs
        outcomes.append(FieldOutcome(thirdparties.FIELDS[name], mine, theirs, values[name]))
    for name in NOTES:
        mine, theirs = getattr(kept, name), getattr(removed, name)
        values[name] = mine if theirs in ("", mine) else theirs if not mine else f"{mine}\n\n{theirs}"
        outcomes.append(FieldOutcome(thirdparties.FIELDS[name], mine, theirs, values[name]))
    tags = sorted(set(kept_tags) | set(removed_tags))
    reps = list(dict.fromkeys(kept_reps + removed_reps))
    outcomes += [FieldOutcome("Tags", ", ".join(kept_tags), ", ".join(removed_tags), ", ".join(tags)),
                 FieldOutcome("Sales reps", ", ".join(kept_reps), ", ".join(removed_reps), ", ".join(reps))]
    custom = {}
    for f in fields:
        mine, theirs = kept_custom[f.key], removed_custom[f.key]
        if mine is None and theirs is not None:
            custom[f.key] = theirs
        shown = [to_storage(f, value) if value is not None else "" for value in (mine, theirs)]
        outcomes.append(FieldOutcome(f.label, shown[0], shown[1], shown[0] or shown[1]))
    outcomes = [o for o in outcomes if o.kept or o.other]
    moving = {kind.label: await kind.count(uow, removed_id) for kind in linked.KINDS}
    same_email = await _same_email_contacts(uow, removed_id, kept_id)
    fingerprint = _fingerprint(kept, removed, kept_custom, removed_custom, kept_tags + kept_reps,
                               removed_tags + removed_reps, moving)
    return MergePlan(kept, removed, outcomes, {k: n for k, n in moving.items() if n}, len(same_email), fingerprint,
                     values, tags, reps, custom)


def combined_type(kept: str, removed: str) -> str:
    return kept if kept == removed else "both"


def _fingerprint(*parts) -> str:
    text = json.dumps(parts, default=str, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


async def _snapshot(uow: UnitOfWork, removed: ThirdPartyRecord) -> dict:
    """The removed record as it was, for its COMPANY_MERGE event: fields, tags, reps, custom values."""
    fields = await customfields.definitions("thirdparty", uow.connection)
    custom = await customfields.current(uow, "thirdparty", removed.id, fields)
    tags, reps = await thirdparties.tags_and_reps(removed.id, uow.connection)
    plain = {name: getattr(removed, name) for name in (*thirdparties.FIELDS, "code", "id")}
    return {**plain, "tags": tags, "sales_reps": reps, "created_at": removed.created_at.isoformat(),
            "custom": {f.key: to_storage(f, custom[f.key]) for f in fields if custom[f.key] is not None}}


async def _same_email_contacts(uow: UnitOfWork, removed_id: int, kept_id: int) -> dict[int, int]:
    """Removed contact id -> the kept contact with the same email (case-insensitive)."""
    kept = {}
    for contact in await Contact.filter(thirdparty_id=kept_id).exclude(email="").order_by("id").using_db(uow.connection):
        kept.setdefault(contact.email.lower(), contact.id)
    removed = await Contact.filter(thirdparty_id=removed_id).exclude(email="").using_db(uow.connection)
    return {contact.id: kept[contact.email.lower()] for contact in removed if contact.email.lower() in kept}


async def _fold_contacts(uow: UnitOfWork, removed_id: int, kept_id: int) -> None:
    """A contact of the removed record with a kept contact's email becomes that contact: its
    documents and events follow it, its custom values fill the kept contact's empty ones."""
    for duplicate, survivor in (await _same_email_contacts(uow, removed_id, kept_id)).items():
        await linked.fold_contact(uow, duplicate, survivor)


async def _keep_code(uow: UnitOfWork, removed: ThirdPartyRecord, kept_id: int) -> None:
    """The removed code (and the codes merged into it before) resolve to the kept record."""
    await ThirdPartyAlias.filter(thirdparty_id=removed.id).using_db(uow.connection).update(thirdparty_id=kept_id)
    await ThirdPartyAlias.create(code=removed.code, thirdparty_id=kept_id, created_at=uow.now, using_db=uow.connection)

