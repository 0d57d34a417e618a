"""`/crm merge` and `/crm duplicates` through signed Slack requests."""
import json

from crm import thirdparties
from models import Event, ThirdParty
from tests.conftest import context


def texts(payload: dict) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + payload.get("text", "")


async def test_merge_shows_what_the_kept_record_becomes_then_merges(alice, slack):
    kept = await thirdparties.create(context(), {"name": "Acme", "type": "customer", "email": "a@acme.example"})
    removed = await thirdparties.create(context(), {"name": "Acme Widgets Ltd", "type": "prospect",
                                                    "town": "Lyon", "email": "b@acme.example"})
    await alice.command(f'merge "Acme Widgets Ltd" into {kept.code}')
    confirmation = (await slack.wait_for("views.open"))[-1].args["view"]
    shown = texts(confirmation)
    assert f"{kept.code} is kept; {removed.code} is deleted" in shown
    assert "Type: Prospect and customer" in shown and "Town: Lyon" in shown
    assert "Email: a@acme.example   (not “b@acme.example”" in shown
    done = await alice.submit_form(confirmation)
    assert (done.status, done.text) == (200, "")
    card = (await slack.wait_for("chat.postMessage"))[-1].args
    assert kept.code in texts(card) and "Lyon" in texts(card)
    assert not await ThirdParty.filter(id=removed.id).exists()
    assert await Event.filter(code="COMPANY_MERGE", thirdparty_id=kept.id).count() == 1
    again = await alice.ask(f"show {removed.code}")
    assert kept.code in texts(again)  # the removed code leads to the kept record
    twice = await alice.submit_form(confirmation)  # the same confirmation again: said in words
    assert "no longer exists" in texts(twice.json["view"])
    slack.assert_nothing_refused()


async def test_duplicates_are_listed_with_a_merge_button(alice, slack):
    first = await thirdparties.create(context(), {"name": "Initech", "type": "customer", "email": "hi@initech.example"})
    second = await thirdparties.create(context(), {"name": "Initech SARL", "type": "prospect",
                                                   "email": "HI@initech.example"})
    listed = await alice.ask("duplicates")
    assert "Same email, same name · score 0.99" in texts(listed)
    button = next(b["accessory"] for b in listed["blocks"] if b.get("accessory", {}).get("action_id") == "merge_pair")
    assert button["value"] == f"{second.id}:{first.id}"
    await alice.action("merge_pair", button["value"])
    confirmation = (await slack.wait_for("views.open"))[-1].args["view"]
    assert f"{second.name} ({second.code}) will be merged into {first.name} ({first.code})" in texts(confirmation)


async def test_merge_needs_into(alice):
    answer = await alice.ask("merge Acme Initech")
    assert "/crm merge REF into REF" in texts(answer)


async def test_an_admin_deletes_after_a_confirmation_naming_what_goes(admin, alice, slack):
    tp = await thirdparties.create(context(), {"name": "Gone Ltd", "type": "customer"})
    refused = await alice.ask(f"delete {tp.code}")
    assert "Only admins can delete third parties" in texts(refused)
    await admin.command(f"delete {tp.code}")
    confirmation = (await slack.wait_for("views.open"))[-1].args["view"]
    assert f"Gone Ltd ({tp.code}) will be deleted for good, with 1 events." in texts(confirmation)
    done = await admin.submit_form(confirmation)
    assert (done.status, done.text) == (200, "")
    assert not await ThirdParty.filter(id=tp.id).exists()
    said = (await slack.wait_for("chat.postMessage"))[-1].args
    assert f"Gone Ltd ({tp.code}) was deleted." in texts(said)
