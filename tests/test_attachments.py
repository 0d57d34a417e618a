"""Files attached to third parties (crm/attachments.py): kept in the file store, one crm_file row
and one FILE_ADD event each, written together or not at all; capped; read back by who may see them."""
import dataclasses
import hashlib

import pytest

from crm import agenda, attachments, clock, thirdparties
from crm.context import Context
from crm.errors import Forbidden, NotFound, ValidationError
from crm.filestore import FileStore
from crm.permissions import Actor
from models import Event, ThirdPartyFile
from tests.conftest import ALICE, context

READER = Actor("U0READER", role="readonly")
CONTRACT = b"%PDF-1.7 the signed contract"


def acting(settings, actor=ALICE) -> Context:
    return Context(actor, settings, clock)


def stored_files(settings) -> list:
    root = FileStore.for_settings(settings).root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_a_file_is_stored_recorded_and_read_back(db, settings):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    record = await attachments.attach(acting(settings), acme.id, "../../etc/contract<1>.pdf", CONTRACT,
                                      "application/pdf", slack_file_id="F123")
    assert (record.name, record.size, record.content_type, record.added_by, record.slack_file_id) == (
        "contract_1_.pdf", len(CONTRACT), "application/pdf", ALICE.id, "F123")
    assert record.sha256 == hashlib.sha256(CONTRACT).hexdigest()
    assert record.added_at.tzinfo is not None
    event = await Event.get(code="FILE_ADD")
    assert (event.thirdparty_id, event.user_id, event.label) == (acme.id, ALICE.id, "File contract_1_.pdf attached")
    assert event.details == {"file_id": record.id, "name": "contract_1_.pdf", "size": len(CONTRACT)}

    again, data = await attachments.read(acting(settings, READER), record.id)
    assert (again, data) == (record, CONTRACT)


async def test_files_are_listed_newest_first(db, settings):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    first = await attachments.attach(acting(settings), acme.id, "a.txt", b"a", "text/plain")
    second = await attachments.attach(acting(settings), acme.id, "b.txt", b"b", "text/plain")
    assert [f.id for f in await attachments.files(acting(settings), acme.id)] == [second.id, first.id]


async def test_a_file_over_the_cap_is_refused_naming_it_and_the_limit_and_leaves_nothing(db, settings):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    capped = dataclasses.replace(settings, file_max_mb=1)
    with pytest.raises(ValidationError) as refused:
        await attachments.attach(acting(capped), acme.id, "scan.tiff", b"x" * (1024 * 1024 + 1), "image/tiff")
    assert refused.value.field == "file"
    assert "scan.tiff" in refused.value.message and "1 MB" in refused.value.message
    with pytest.raises(ValidationError):
        attachments.check_size(acting(capped), "scan.tiff", 2 * 1024 * 1024)
    assert await ThirdPartyFile.all().count() == 0 and await Event.filter(code="FILE_ADD").count() == 0
    assert stored_files(capped) == []


async def test_a_failure_while_recording_leaves_no_row_and_no_event(db, settings, monkeypatch):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})

    async def failing(*args, **kwargs):
        raise RuntimeError("the database went away")
    monkeypatch.setattr(agenda, "record", failing)
    with pytest.raises(RuntimeError):
        await attachments.attach(acting(settings), acme.id, "a.txt", b"a", "text/plain")
    assert await ThirdPartyFile.all().count() == 0


async def test_a_third_party_gone_is_said_in_words_and_nothing_is_recorded(db, settings):
    with pytest.raises(NotFound):
        await attachments.attach(acting(settings), 999_999, "a.txt", b"a", "text/plain")
    with pytest.raises(NotFound):
        await attachments.read(acting(settings), 999_999)
    assert await ThirdPartyFile.all().count() == 0 and await Event.filter(code="FILE_ADD").count() == 0


async def test_read_only_users_cannot_attach(db, settings):
    acme = await thirdparties.create(context(), {"name": "Acme", "type": "customer"})
    with pytest.raises(Forbidden):
        await attachments.attach(acting(settings, READER), acme.id, "a.txt", b"a", "text/plain")
    assert stored_files(settings) == []
