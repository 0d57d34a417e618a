"""`reassign` through the domain: reps replaced once, open documents moved, closed ones kept,
one COMPANY_MODIFY per third party, admins only, all in one transaction."""
import pytest

from crm import reps, thirdparties
from crm.documents import service as documents
from crm.errors import Forbidden, ValidationError
from models import Document, Event
from tests.conftest import ADMIN, ALICE, context

CAROL, BOB, DAVE = "U0CAROL", "U0BOB", "U0DAVE"


async def company(name, sales_reps):
    return await thirdparties.create(context(ADMIN), {"name": name, "type": "customer"}, sales_reps=sales_reps)


async def proposal(tp, rep=None, moves=()):
    made = await documents.create(context(ADMIN), "proposal", tp.id)
    await documents.add_line(context(ADMIN), made.id, {"label": "Work", "unit_price": "100", "vat_rate": "20"})
    if rep:
        await documents.update(context(ADMIN), made.id, {"rep_id": rep})
    for move in moves:
        await documents.apply_move(context(ADMIN), made.id, move)
    return made


async def reps_of(tp):
    return (await thirdparties.tags_and_reps(tp.id))[1]


async def rep_of(document):
    return (await Document.get(id=document.id)).rep_id


async def test_a_reps_portfolio_and_open_documents_move_to_another_rep(db):
    acme = await company("Acme", [CAROL, DAVE])  # Carol first: Bob takes her place as default rep
    both = await company("Both", [BOB, CAROL])  # Bob is a rep already: Carol just leaves
    other = await company("Other", [DAVE])
    draft, validated = await proposal(acme), await proposal(acme, moves=("validate",))
    signed = await proposal(acme, moves=("validate", "sign"))
    elsewhere = await proposal(other, rep=CAROL)  # Carol's document on a third party she is no rep of
    daves = await proposal(other)
    planned = await reps.plan(context(ADMIN), CAROL, BOB)
    assert (planned.thirdparties, planned.documents) == (2, 3)

    done = await reps.reassign(context(ADMIN), CAROL, BOB)
    assert (done.thirdparties, done.documents) == (2, 3)
    assert (await reps_of(acme), await reps_of(both), await reps_of(other)) == ([BOB, DAVE], [BOB], [DAVE])
    assert [await rep_of(d) for d in (draft, validated, signed, elsewhere, daves)] == [BOB, BOB, CAROL, BOB, DAVE]
    modified = {e.thirdparty_id: e for e in await Event.filter(code="COMPANY_MODIFY").order_by("id")}
    assert set(modified) == {acme.id, both.id, other.id} and {e.user_id for e in modified.values()} == {ADMIN.id}
    assert modified[acme.id].details["changes"]["sales_reps"] == [[CAROL, DAVE], [BOB, DAVE]]
    assert f"(PROV{draft.id})" in modified[acme.id].details["reason"]
    assert (await Document.get(id=validated.id)).ref in modified[acme.id].details["reason"]
    assert modified[both.id].details["changes"]["sales_reps"] == [[BOB, CAROL], [BOB]]
    assert modified[other.id].details == {"changes": {"documents_rep": [CAROL, BOB]},
                                          "documents": [f"(PROV{elsewhere.id})"]}


async def test_only_admins_reassign_and_two_different_people_are_needed(db):
    acme = await company("Acme", [CAROL])
    with pytest.raises(Forbidden, match="Only admins can reassign"):
        await reps.reassign(context(ALICE), CAROL, BOB)
    with pytest.raises(ValidationError, match="two different people"):
        await reps.reassign(context(ADMIN), CAROL, CAROL)
    with pytest.raises(ValidationError, match="not a Slack user ID"):
        await reps.reassign(context(ADMIN), CAROL, "bob")
    assert await reps_of(acme) == [CAROL] and not await Event.filter(code="COMPANY_MODIFY").exists()


async def test_a_failure_half_way_leaves_everything_as_it_was(db, monkeypatch):
    first, second = await company("First", [CAROL]), await company("Second", [CAROL])
    draft = await proposal(first)
    real_update = thirdparties.update

    async def update(ctx, thirdparty_id, *args, **kwargs):
        if thirdparty_id == second.id:
            raise RuntimeError("the database went away")
        return await real_update(ctx, thirdparty_id, *args, **kwargs)

    monkeypatch.setattr(thirdparties, "update", update)
    with pytest.raises(RuntimeError):
        await reps.reassign(context(ADMIN), CAROL, BOB)
    assert (await reps_of(first), await reps_of(second), await rep_of(draft)) == ([CAROL], [CAROL], CAROL)
    assert not await Event.filter(code="COMPANY_MODIFY").exists()
