"""What hangs off a third party: the one list merge and erasure go through.

Merging moves each kind to the kept record; erasing (right to erasure) deletes it, except
what the books must keep. Kinds that come later (logged incoming emails, attached files) join
`KINDS`, and merge and erasure handle them with no change of their own.
"""
from __future__ import annotations

from dataclasses import dataclass

from crm.context import UnitOfWork
from crm.db import sql
from crm.records import ThirdPartyRecord
from models import Contact, CustomFieldValue, Document, DocumentContact, InboundEmail, ThirdPartyFile

CONTACT_FIELDS = ("first_name", "last_name", "job_title", "phone", "address", "zip", "town", "country", "language",
                  "note")


@dataclass(frozen=True)
class Kind:
    label: str  # as a person reads it: "contacts"
    table: str
    column: str = "thirdparty_id"

    async def count(self, uow: UnitOfWork, thirdparty_id: int) -> int:
        rows = await uow.connection.execute_query_dict(
            sql(uow.connection, f"SELECT COUNT(*) AS n FROM {self.table} WHERE {self.column} = ?"), [thirdparty_id])
        return int(rows[0]["n"])

    async def move(self, uow: UnitOfWork, from_id: int, to_id: int) -> None:
        await uow.connection.execute_query(
            sql(uow.connection, f"UPDATE {self.table} SET {self.column} = ? WHERE {self.column} = ?"), [to_id, from_id])

    async def erase(self, uow: UnitOfWork, thirdparty: ThirdPartyRecord) -> list[str]:
        """Delete what the third party holds of this kind; returns the stored files it no longer needs."""
        await uow.connection.execute_query(sql(uow.connection, f"DELETE FROM {self.table} WHERE {self.column} = ?"),
                                           [thirdparty.id])
        return []


# What the books need of whom a kept document was for: no contacts, no notes about them.
BILLED_TO = ("code", "name", "address", "zip", "town", "country", "vat_id")


class Documents(Kind):
    """Drafts go with their third party; validated documents stay for the books, detached
    from it and from its contacts, with `billed_to`."""

    async def erase(self, uow: UnitOfWork, thirdparty: ThirdPartyRecord) -> list[str]:
        connection = uow.connection
        drafts = Document.filter(thirdparty_id=thirdparty.id, status="draft").using_db(connection)
        files = [sha for sha in await drafts.values_list("pdf_sha256", flat=True) if sha]
        await drafts.delete()
        kept = Document.filter(thirdparty_id=thirdparty.id).using_db(connection)
        await DocumentContact.filter(document_id__in=await kept.values_list("id", flat=True)).using_db(connection).delete()
        await kept.update(thirdparty_id=None, billed_to={name: getattr(thirdparty, name) for name in BILLED_TO})
        return files


class InboundEmails(Kind):
    """Received emails go, and their attachments (unless something else holds the same content)."""

    async def erase(self, uow: UnitOfWork, thirdparty: ThirdPartyRecord) -> list[str]:
        kept = await InboundEmail.filter(thirdparty_id=thirdparty.id).using_db(uow.connection).values_list(
            "attachments", flat=True)
        await super().erase(uow, thirdparty)
        return [attachment["sha256"] for attachments in kept for attachment in attachments if "sha256" in attachment]


class Files(Kind):
    """Attached files go, and their content (unless something else holds the same)."""

    async def erase(self, uow: UnitOfWork, thirdparty: ThirdPartyRecord) -> list[str]:
        kept = await ThirdPartyFile.filter(thirdparty_id=thirdparty.id).using_db(uow.connection).values_list(
            "sha256", flat=True)
        await super().erase(uow, thirdparty)
        return list(kept)


KINDS = (
    Kind("contacts", "crm_contact"),
    Documents("documents", "crm_document"),
    Kind("events", "crm_event"),
    # an erased address that had opted out stays on the opt-out list (crm_opt_out is not here)
    Kind("campaign recipients", "crm_campaign_recipient"),
    Kind("sent emails", "crm_sent_email"),
    InboundEmails("received emails", "crm_inbound_email"),
    Files("files", "crm_file"),
)
# Rows naming a contact, which follow it when two same-email contacts become one.
CONTACT_REFERENCES = ("crm_event", "crm_campaign_recipient", "crm_sent_email", "crm_inbound_email")
# Rows that belong to the third party itself and go with it.
OWN_ROWS = (("crm_custom_value", "thirdparty_id"), ("crm_thirdparty_tag", "crm_thirdparty_id"),
            ("crm_thirdparty_rep", "crm_thirdparty_id"))


async def delete_thirdparty(uow: UnitOfWork, thirdparty_id: int) -> None:
    """The third party's own row and what belongs to it alone (what hangs off it has moved or gone)."""
    connection = uow.connection
    for table, column in OWN_ROWS:
        await connection.execute_query(sql(connection, f"DELETE FROM {table} WHERE {column} = ?"), [thirdparty_id])
    await connection.execute_query(sql(connection, "DELETE FROM crm_thirdparty WHERE id = ?"), [thirdparty_id])


async def fold_contact(uow: UnitOfWork, duplicate_id: int, survivor_id: int) -> None:
    """Make the contact `duplicate_id` one with `survivor_id`: the survivor keeps its values and
    takes the duplicate's where it has none; documents and events follow; the duplicate goes."""
    connection = uow.connection
    survivor = await Contact.get(id=survivor_id, using_db=connection)
    duplicate = await Contact.get(id=duplicate_id, using_db=connection)
    filled = {name: getattr(duplicate, name) for name in CONTACT_FIELDS
              if not getattr(survivor, name) and getattr(duplicate, name)}
    if filled:
        await Contact.filter(id=survivor_id).using_db(connection).update(**filled)
    kept_fields = set(await CustomFieldValue.filter(contact_id=survivor_id).using_db(connection)
                      .values_list("field_id", flat=True))
    await CustomFieldValue.filter(contact_id=duplicate_id, field_id__in=kept_fields).using_db(connection).delete()
    await CustomFieldValue.filter(contact_id=duplicate_id).using_db(connection).update(contact_id=survivor_id)
    held = {(link.document_id, link.role) for link in
            await DocumentContact.filter(contact_id=survivor_id).using_db(connection)}
    for link in await DocumentContact.filter(contact_id=duplicate_id).using_db(connection):
        if (link.document_id, link.role) in held:
            await link.delete(using_db=connection)
        else:
            await DocumentContact.filter(id=link.id).using_db(connection).update(contact_id=survivor_id)
    for table in CONTACT_REFERENCES:
        await connection.execute_query(sql(connection, f"UPDATE {table} SET contact_id = ? WHERE contact_id = ?"),
                                       [survivor_id, duplicate_id])
    await Contact.filter(id=duplicate_id).using_db(connection).delete()
