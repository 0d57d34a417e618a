"""Deleting a third party for good (`/crm delete REF`, right to erasure): its contacts, draft
documents, files and events go; validated documents stay for the books, detached from the
person's data; one COMPANY_DELETE event keeps who deleted which code, and when."""
from __future__ import annotations

from dataclasses import dataclass

from tortoise import Tortoise

from crm import agenda, linked, records
from crm.context import Context
from crm.db import sql
from crm.filestore import FileStore
from crm.permissions import require_admin, visible_thirdparty
from crm.records import ThirdPartyRecord
from models import CompanyProfile, Document, ThirdPartyFile


@dataclass(frozen=True)
class ErasurePlan:
    thirdparty: ThirdPartyRecord
    going: dict[str, int]  # kind -> how many go
    kept_documents: int  # validated documents kept for the books


async def plan(ctx: Context, thirdparty_id: int) -> ErasurePlan:
    require_admin(ctx.actor, "delete third parties")
    async with ctx.transaction() as uow:
        thirdparty = records.thirdparty(await visible_thirdparty(ctx.actor, thirdparty_id, uow.connection))
        going = {kind.label: await kind.count(uow, thirdparty_id) for kind in linked.KINDS}
        kept = await Document.filter(thirdparty_id=thirdparty_id).exclude(status="draft").using_db(uow.connection).count()
    going["documents"] -= kept
    return ErasurePlan(thirdparty, {label: n for label, n in going.items() if n}, kept)


async def erase(ctx: Context, thirdparty_id: int) -> ThirdPartyRecord:
    require_admin(ctx.actor, "delete third parties")
    async with ctx.transaction() as uow:
        thirdparty = records.thirdparty(await visible_thirdparty(ctx.actor, thirdparty_id, uow.connection,
                                                                 for_update=True))
        unused_files = []
        for kind in linked.KINDS:
            unused_files += await kind.erase(uow, thirdparty)
        await linked.delete_thirdparty(uow, thirdparty_id)
        await agenda.record(uow, "COMPANY_DELETE", ctx.actor, None, f"Third party {thirdparty.code} deleted",
                            details={"code": thirdparty.code})
        uow.after_commit(lambda: _forget(ctx, unused_files))
    return thirdparty


async def _forget(ctx: Context, files: list[str]) -> None:
    """The PDFs of erased drafts, the attachments of erased emails and files, unless another record
    holds the same content (the store keeps equal content once)."""
    store = FileStore.for_settings(ctx.settings)
    for sha256 in set(files):
        if not await _still_held(sha256):
            store.remove(sha256)


async def _still_held(sha256: str) -> bool:
    if (await Document.filter(pdf_sha256=sha256).exists() or await CompanyProfile.filter(logo_sha256=sha256).exists()
            or await ThirdPartyFile.filter(sha256=sha256).exists()):
        return True
    connection = Tortoise.get_connection("default")
    rows = await connection.execute_query_dict(sql(connection, "SELECT 1 AS held FROM crm_inbound_email "
                                                              "WHERE CAST(attachments AS TEXT) LIKE ? LIMIT 1"),
                                               [f"%{sha256}%"])
    return bool(rows)
