"""Sales reps through Slack, by signed requests: `/crm reassign` (admins) offers, then moves once
however many clicks; reps assigned and removed in the edit form; `/crm list rep:me`."""
import json

from crm import thirdparties
from models import Event
from tests.conftest import ADMIN, ALICE, context

CAROL, BOB = "U0CAROL", "U0BOB"


def texts(payload: dict) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + payload.get("text", "")


def button_value(message: dict, action_id: str) -> str:
    return next(element["value"] for block in message["blocks"] for element in block.get("elements", [])
                if element.get("action_id") == action_id)


async def test_an_admin_reassigns_after_confirming_and_a_second_click_changes_nothing(admin, slack):
    acme = await thirdparties.create(context(ADMIN), {"name": "Acme", "type": "customer"}, sales_reps=[CAROL])
    offer = await admin.ask(f"reassign <@{CAROL}|carol> <@{BOB}|bob>")
    assert "Move 1 third party and 0 open documents from <@U0CAROL> to <@U0BOB>?" in texts(offer)
    assert (await thirdparties.tags_and_reps(acme.id))[1] == [CAROL]  # nothing moves before the click
    token = button_value(offer, "reps_reassign")
    done = await admin.press("reps_reassign", token)
    assert "Moved 1 third party and 0 open documents from <@U0CAROL> to <@U0BOB>." in texts(done)
    assert (await thirdparties.tags_and_reps(acme.id))[1] == [BOB]
    again = await admin.press("reps_reassign", token)
    assert "done already" in texts(again)
    assert await Event.filter(code="COMPANY_MODIFY").count() == 1


async def test_reassign_refuses_others_than_admins_and_asks_for_two_people(alice, admin, slack):
    refused = await alice.ask(f"reassign <@{CAROL}> <@{BOB}>")
    assert "Only admins can reassign" in texts(refused)
    halfway = await admin.ask(f"reassign <@{CAROL}>")
    assert "Name the rep whose portfolio moves" in texts(halfway) and "/crm reassign @alice @bob" in texts(halfway)
    assert not await Event.filter(code="COMPANY_MODIFY").exists()


async def test_reps_are_assigned_and_removed_in_the_edit_form_and_rep_me_lists_them(alice, slack):
    acme = await thirdparties.create(context(ADMIN), {"name": "Acme", "type": "customer"}, sales_reps=[CAROL, BOB])
    await thirdparties.create(context(ADMIN), {"name": "Globex", "type": "customer"}, sales_reps=[BOB])
    await alice.command("edit Acme")
    form = (await slack.wait_for("views.open"))[-1].args["view"]
    reps_input = next(b for b in form["blocks"] if b.get("block_id") == "sales_reps")
    assert reps_input["element"]["type"] == "multi_users_select"
    assert reps_input["element"]["initial_users"] == [CAROL, BOB]
    saved = await alice.submit_form(form, {"sales_reps": [ALICE.id, BOB]})  # Carol removed, Alice added
    assert (saved.status, saved.text) == (200, "")
    assert (await thirdparties.tags_and_reps(acme.id))[1] == [ALICE.id, BOB]
    event = await Event.get(code="COMPANY_MODIFY", thirdparty_id=acme.id)
    assert event.details["changes"]["sales_reps"] == [[CAROL, BOB], [ALICE.id, BOB]]
    listed = await alice.ask("list rep:me")
    assert "Acme" in texts(listed) and "Globex" not in texts(listed)
