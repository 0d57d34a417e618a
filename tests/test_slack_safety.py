"""Tried as users and attackers would: every click answered, one creation per intent, user text
never markup, read-only users offered nothing they cannot do, bad input and bad requests refused
in words with nothing saved."""
from __future__ import annotations

import asyncio
import json
import logging

import pytest

from crm import clock, contacts, thirdparties
from models import Contact, Event, ThirdParty, User
from tests.conftest import ALICE, context, slack_user
from tests.slack_requests import FORM, modal


def texts(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


def buttons(message: dict) -> dict[str, dict]:
    return {e["action_id"]: e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def mrkdwn_texts(node) -> list[str]:
    """Every mrkdwn text object's text, anywhere in blocks."""
    if isinstance(node, list):
        return [text for item in node for text in mrkdwn_texts(item)]
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [text for value in node.values() for text in mrkdwn_texts(value)]
    return []


async def opened(slack, method: str = "views.open") -> dict:
    return (await slack.wait_for(method))[-1].args["view"]


# -- every click is answered ----------------------------------------------------------------


async def test_buttons_of_a_record_deleted_while_its_card_is_open_answer_in_words(alice, slack):
    card = await alice.ask("new customer Gone Ltd")
    tp = await ThirdParty.get(name="Gone Ltd")
    contact = await contacts.create(context(), tp.id, {"last_name": "Doe"})
    await ThirdParty.filter(id=tp.id).delete()
    for action_id in ("thirdparty_show", "thirdparty_edit", "contact_add", "thirdparty_share"):
        answer = await alice.press(action_id, buttons(card)["thirdparty_edit"]["value"])
        assert "no longer exists" in texts(answer), action_id
        assert answer["response_type"] == "ephemeral"
    answer = await alice.press("contact_edit", action_type="static_select", selected_option=str(contact.id))
    assert "no longer exists" in texts(answer)
    assert slack.calls_to("views.open") == []


async def test_a_form_slack_refuses_to_open_from_a_button_is_answered(alice, slack):
    card = await alice.ask("new customer Monks")
    slack.fail_next("views.open", error="expired_trigger_id")
    answer = await alice.press("thirdparty_edit", buttons(card)["thirdparty_edit"]["value"])
    assert "Slack refused this (expired_trigger_id)" in texts(answer)


@pytest.mark.parametrize("action_id, fields", [
    ("thirdparty_show", {"value": "not-a-number"}),
    ("thirdparty_edit", {"value": "-3"}),
    ("contact_edit", {"action_type": "static_select"}),            # no option chosen
    ("customfield_menu", {"action_type": "overflow", "selected_option": "frobnicate:1"}),
    ("customfield_add", {"value": "suppliers"}),                    # an option no longer offered
    ("thirdparty_create_anyway", {"value": "no-such-token"}),
    ("button_of_an_older_version", {"value": "1"}),                 # no listener at all
])
async def test_signed_but_malformed_clicks_get_words_and_change_nothing(admin, action_id, fields):
    value = fields.pop("value", None)
    reply = await admin.action(action_id, value, **fields)
    assert (reply.status, reply.text) == (200, "")
    [answer] = await admin.answers()
    assert "out of date" in texts(answer) or "expired" in texts(answer)
    assert await ThirdParty.all().count() == 0


async def test_signed_but_malformed_forms_are_refused_beside_a_field(alice):
    state = {"name": {"value": {"type": "plain_text_input", "value": "Acme"}}}
    for metadata in ("", "garbage", '{"id": "x", "v": {}}', '{"id": 4, "v": 5}', '[1]'):
        reply = await alice.submit("thirdparty_edit", state, private_metadata=metadata)
        assert reply.json == {"response_action": "errors", "errors": {"name": "This button or form is out of date. "
                                                                              "Please run the command again."}}
    reply = await alice.submit("contact_new", {}, private_metadata="12")  # no inputs: said in place of the form
    assert reply.json["response_action"] == "update" and "needs a first or a last name" in texts(reply.json["view"])
    named = {"last_name": {"value": {"type": "plain_text_input", "value": "Doe"}}}
    reply = await alice.submit("contact_new", named, private_metadata="12")
    assert reply.json == {"response_action": "errors", "errors": {
        "last_name": "This third party no longer exists; it may have been deleted or merged."}}
    assert await ThirdParty.all().count() == await Contact.all().count() == 0


async def test_a_form_submitted_twice_creates_once(alice, slack):
    await alice.command("new")
    view = await opened(slack)
    first, second = await asyncio.gather(
        alice.submit_form(view, {"name": "Twice Ltd", "type": "customer"}, view_id="VSAME"),
        alice.submit_form(view, {"name": "Twice Ltd", "type": "customer"}, view_id="VSAME"),
    )
    assert (first.status, first.text, second.status, second.text) == (200, "", 200, ""), (first, second)
    assert await ThirdParty.filter(name="Twice Ltd").count() == 1
    assert await Event.filter(code="COMPANY_CREATE").count() == 1
    await slack.wait_for("chat.postMessage")
    await asyncio.sleep(0.1)
    assert len(slack.calls_to("chat.postMessage")) == 1, slack.calls  # one card in the DM, not two


# -- "Create anyway" is done once ------------------------------------------------------------


async def test_create_anyway_clicked_twice_creates_once_and_holds_any_name(alice):
    name = "Acme " + "😀" * 200
    await alice.ask("new customer Acme")
    warning = await alice.ask(f"new prospect {name}")
    token = buttons(warning)["thirdparty_create_anyway"]["value"]
    assert len(token) < 40 and await ThirdParty.all().count() == 1
    first, second = await asyncio.gather(alice.press("thirdparty_create_anyway", token),
                                         alice.press("thirdparty_create_anyway", token))
    assert await ThirdParty.filter(name=name).count() == 1
    code = (await ThirdParty.get(name=name)).code
    assert code in texts(first) and code in texts(second)  # the second click shows the record the first made


async def test_create_anyway_is_only_for_whom_it_was_offered(alice, admin):
    await alice.ask("new customer Acme")
    token = buttons(await alice.ask("new prospect ACME"))["thirdparty_create_anyway"]["value"]
    answer = await admin.press("thirdparty_create_anyway", token)
    assert "Only the person this was offered to" in texts(answer)
    assert await ThirdParty.all().count() == 1


# -- user text is data, never markup or a ping --------------------------------------------------


async def test_a_shared_card_shows_markup_as_text_names_people_and_says_who_shared(alice, slack):
    slack.add_user("U0BOB", name="bob")
    tp = await thirdparties.create(context(), {"name": "<!channel> *Corp* _x_ `y` ~z~", "type": "customer"},
                                   sales_reps=["U0BOB", ALICE.id])
    card = await alice.ask(f"show {tp.code}")
    share = buttons(card)["thirdparty_share"]
    assert share["confirm"]["confirm"]["text"] == "Share"  # Slack asks before anything is posted
    shared = await alice.press("thirdparty_share", share["value"])
    assert shared["response_type"] == "in_channel"
    everything = json.dumps(shared, ensure_ascii=False)
    markup = [shared["text"], *mrkdwn_texts(shared["blocks"])]  # what Slack parses; plain_text it shows as is
    assert not any("<!channel>" in text or "<@" in text for text in markup)  # no broadcast, no mention
    assert "&lt;!channel&gt;" in shared["text"] and not any(c in shared["text"] for c in "*_`~")
    assert shared["blocks"][0]["text"] == {"type": "plain_text", "text": tp.name, "emoji": False}
    assert "bob" in everything and "Shared by alice" in everything


async def test_times_others_may_see_use_slack_date_formatting_from_the_one_clock(alice):
    from datetime import datetime, timezone

    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    clock.freeze(moment)
    card = await alice.ask("new customer Clockwork")
    tp = await ThirdParty.get(name="Clockwork")
    assert tp.created_at == tp.updated_at == moment
    assert (await Event.get(thirdparty_id=tp.id)).occurred_at == moment
    assert f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|2026-03-04 05:06 UTC>" in texts(card)


# -- read-only users ---------------------------------------------------------------------------------


async def test_read_only_users_get_no_write_buttons_and_no_forms(http, server, slack):
    slack.add_user("U0READER", name="reader")
    await User.create(id="U0READER", role="readonly", created_at=clock.now())
    reader = slack_user(http, server, slack, "U0READER")
    tp = await thirdparties.create(context(), {"name": "Readable", "type": "customer"})
    await contacts.create(context(), tp.id, {"last_name": "Doe"})
    card = await reader.ask("show Readable")
    assert set(buttons(card)) == {"thirdparty_share", "thirdparty_files", "timeline_show"}  # reading only
    for text in ("new", "edit Readable", "contact add Readable", "new prospect Other"):
        answer = await reader.ask(text)
        assert "read-only" in texts(answer), text
    await reader.shortcut("new_thirdparty")
    await slack.wait_for("views.open")
    assert "read-only" in texts((await opened(slack)))  # the shortcut has no response_url: said in a small modal
    assert all(call.args["view"].get("callback_id") is None for call in slack.calls_to("views.open"))
    assert await ThirdParty.all().count() == 1


# -- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\x00", "\ud800", "\x1b"])
async def test_unstorable_characters_are_refused_by_name_and_nothing_is_saved(alice, slack, bad):
    if bad != "\ud800":  # a command is UTF-8 text, which cannot hold half a surrogate pair; a form's JSON can
        answer = await alice.ask(f"new prospect Acme{bad}Corp")
        assert "Name contains" in texts(answer) and "control character" in texts(answer)
        searched = await alice.ask(f"show Acme{bad}")
        assert "control character" in texts(searched)
    await alice.command("new")
    view = await opened(slack)
    refused = await alice.submit_form(view, {"name": "Acme", "type": "customer", "town": f"Pa{bad}ris"})
    assert list(refused.json["errors"]) == ["town"] and "control character" in refused.json["errors"]["town"]
    assert await ThirdParty.all().count() == 0


async def test_a_search_of_a_thousand_words_is_refused_in_words(alice):
    answer = await alice.ask("search " + " ".join(f"word{n}" for n in range(1000)))
    assert "at most 12 words" in texts(answer)


# -- bad requests ------------------------------------------------------------------------------------------


async def test_unsigned_requests_are_refused_without_their_bodies_reaching_the_log(http, server, caplog):
    caplog.set_level(logging.DEBUG)
    url = server.url + "/slack/events"
    body = "payload=" + "A" * (1024 * 1024 - 10)
    for _ in range(20):
        async with http.post(url, data=body, headers={"Content-Type": FORM}) as response:
            assert response.status == 401
    for garbage in (b"\xff\xfe\x00", b"payload={not json", b""):
        async with http.post(url, data=garbage, headers={"X-Slack-Signature": "v0=1",
                                                         "X-Slack-Request-Timestamp": "x"}) as response:
            assert response.status == 401
    async with http.post(url, data="x" * (2 * 1024 * 1024)) as response:
        assert response.status == 413
    assert len(caplog.text) < 20_000
    assert await ThirdParty.all().count() == 0


async def test_signed_bodies_that_are_not_slack_payloads_are_refused_without_a_500(alice, server, http):
    for body, content_type in (("payload={not json", FORM), ("payload=%5B1%2C2%5D", FORM), ("[1, 2]", "application/json"),
                               ("text=new+prospect+Ghost", FORM)):
        reply = await alice.post(body, content_type)
        assert reply.status in (200, 400), (body, reply.status)
    assert await ThirdParty.all().count() == 0


async def test_a_click_in_a_form_whose_answer_slack_will_not_show_is_answered_by_message(admin, slack):
    """A field of the settings form removed meanwhile, and Slack refusing the small modal that
    would say so (the trigger expired): the answer comes as a direct message."""
    slack.fail_next("views.push", error="expired_trigger_id")
    reply = await admin.action("customfield_menu", action_type="overflow", selected_option="edit:404",
                               view=modal("settings", view_id="VSETTINGS"))
    assert (reply.status, reply.text) == (200, "")
    [posted] = await slack.wait_for("chat.postMessage")
    assert "no longer exists" in texts(posted.args) and posted.args["channel"] == "D" + admin.user_id
