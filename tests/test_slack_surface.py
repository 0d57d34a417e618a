"""The Slack surface, driven as Slack drives it: signed HTTP requests to the running app,
with the Web API calls it makes recorded by the stand-in."""
from __future__ import annotations

import json
import time

from crm import contacts
from models import Contact, CustomField, Event, NumberingMask, ThirdParty, User
from tests.conftest import ADMIN, ALICE, GUEST_ID, context, slack_user
from tests.slack_forms import fill, suggested
from tests.slack_requests import modal, slash_command


def texts(message: dict) -> str:
    """All the text a person sees in a message or view, to assert on."""
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


async def opened_view(slack, method: str = "views.open") -> dict:
    calls = await slack.wait_for(method)
    return calls[-1].args["view"]


# -- security -----------------------------------------------------------------------


async def test_a_wrong_or_stale_signature_gets_401_and_changes_nothing(alice, slack):
    body, content_type = slash_command("new prospect Intruder Ltd")
    wrong = await alice.post(body, content_type, signature="v0=" + "0" * 64)
    stale = await alice.post(body, content_type, timestamp=int(time.time()) - 3600)
    assert (wrong.status, stale.status) == (401, 401)
    assert await ThirdParty.all().count() == 0
    assert slack.calls == []


async def test_slack_guests_are_refused(http, server, slack):
    guest = slack_user(http, server, slack, GUEST_ID)
    answer = await guest.ask("new prospect Guest Corp")
    assert "guests cannot use the CRM" in texts(answer)
    assert answer["response_type"] == "ephemeral"
    assert await ThirdParty.all().count() == 0


# -- commands -----------------------------------------------------------------------


async def test_help_and_unknown_words_are_answered_in_the_ack(alice, slack):
    help_reply = await alice.command("")
    assert "/crm new prospect|customer|both NAME" in texts(help_reply.json)
    unknown = await alice.command("frobnicate Acme")
    assert "I don't know “/crm frobnicate”" in texts(unknown.json)
    assert slack.responses == []


async def test_new_with_type_and_name_answers_the_card_and_records_the_event(alice, slack):
    reply = await alice.command("new prospect Smith &amp; Sons &lt;UK&gt;")
    assert (reply.status, reply.text) == (200, "")  # acknowledged before any work
    card = (await alice.answers())[0]
    tp = await ThirdParty.get(name="Smith & Sons <UK>")
    assert tp.type == "prospect" and tp.created_by == ALICE.id
    assert card["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Smith & Sons <UK>", "emoji": False}}
    assert tp.code in texts(card) and tp.code.startswith("CU")
    assert card["response_type"] == "ephemeral"
    events = await Event.filter(thirdparty=tp)
    assert [e.code for e in events] == ["COMPANY_CREATE"] and events[0].user_id == ALICE.id
    # the user was looked up once and their Slack time zone kept
    user = await User.get(id=ALICE.id)
    assert user.tz == "Europe/Paris" and len(slack.calls_to("users.info")) == 1


async def test_new_warns_of_a_likely_duplicate_and_can_create_anyway(alice, slack):
    await alice.ask("new customer Acme Widgets")
    warning = await alice.ask("new prospect ACME widgets, S.A.R.L.")
    assert "looks like a third party you already have" in texts(warning)
    assert await ThirdParty.all().count() == 1
    create_anyway = next(e for b in warning["blocks"] if b["type"] == "actions" for e in b["elements"]
                         if e["action_id"] == "thirdparty_create_anyway")
    response = await alice.press("thirdparty_create_anyway", create_anyway["value"])
    assert response["replace_original"] is True and "ACME widgets, S.A.R.L." in texts(response)
    assert await ThirdParty.filter(name="ACME widgets, S.A.R.L.", type="prospect").count() == 1


async def test_new_refuses_a_missing_type_or_name_with_an_example(alice):
    for text in ("new supplier Acme", "new prospect"):
        answer = await alice.ask(text)
        assert "/crm new prospect Acme Widgets" in texts(answer)
    assert await ThirdParty.all().count() == 0


async def test_show_by_code_quoted_name_or_prefix_and_ambiguity(alice):
    await alice.ask("new customer Acme Widgets")
    await alice.ask("new customer Acme Tools")
    tp = await ThirdParty.get(name="Acme Widgets")
    for ref in (tp.code, tp.code.lower(), '"Acme Widgets"', "“Acme Widgets”", "Acme W"):
        answer = await alice.ask(f"show {ref}")
        assert answer["blocks"][0]["text"]["text"] == "Acme Widgets", ref
    ambiguous = await alice.ask("show Acme")
    assert "matches several third parties" in texts(ambiguous)
    assert texts(ambiguous).count("thirdparty_show") == 2
    missing = await alice.ask("show Nobody")
    assert "No third party has the code or a name starting with “Nobody”" in texts(missing)
    assert "/crm show CU2611-00001" in texts(missing)


async def test_search_finds_by_contact_email_and_town(alice, admin):
    await alice.ask("new customer Globex Paris")
    globex = await ThirdParty.get(name="Globex Paris")
    await contacts.create(context(), globex.id, {"first_name": "Hank", "last_name": "Scorpio",
                                                 "email": "hank@globex.example"})
    answer = await alice.ask("search hank@globex")
    assert "Globex" in texts(answer)
    nothing = await alice.ask("search initech")
    assert "Nothing matches" in texts(nothing)


async def test_close_and_reopen(alice):
    await alice.ask("new customer Initech")
    closed = await alice.ask("close Initech")
    assert "closed" in texts(closed)
    assert (await ThirdParty.get(name="Initech")).status == "closed"
    await alice.ask("reopen Initech")
    tp = await ThirdParty.get(name="Initech")
    assert tp.status == "active"
    assert [e.code for e in await Event.filter(thirdparty=tp).order_by("id")] == [
        "COMPANY_CREATE", "COMPANY_MODIFY", "COMPANY_MODIFY"]


# -- the create modal ------------------------------------------------------------------


async def test_new_opens_the_modal_and_a_bad_field_saves_nothing(alice, slack):
    reply = await alice.command("new")
    assert (reply.status, reply.text) == (200, "")  # the ack is empty: the form is the answer
    view = await opened_view(slack)
    assert view["callback_id"] == "thirdparty_new"
    state = fill(view, {"name": "Hooli", "type": "customer", "email": "not-an-email",
                        "country": await suggested(alice, view, "country", "France")})
    errors = await alice.submit("thirdparty_new", state)
    assert errors.json["response_action"] == "errors"
    assert list(errors.json["errors"]) == ["email"]
    assert "not an email address" in errors.json["errors"]["email"]
    assert await ThirdParty.all().count() == 0 and await Event.all().count() == 0


async def test_modal_creation_with_everything_posts_the_card_to_the_creator(alice, slack):
    await alice.command("new")
    view = await opened_view(slack)
    state = fill(view, {
        "name": "Hooli", "type": "both", "email": "info@HOOLI.example", "phone": "+1 650 555 0100",
        "website": "hooli.example", "town": "Palo Alto", "country": await suggested(alice, view, "country", "us"),
        "language": await suggested(alice, view, "language", "en_US"),
        "vat_id": "US 12-345", "tags": "Tech, VIP, tech", "sales_reps": [ALICE.id, ADMIN.id],
        "note_private": "Gavin is difficult",
    })
    reply = await alice.submit("thirdparty_new", state)
    assert reply.status == 200 and not reply.text
    tp = await ThirdParty.get(name="Hooli")
    assert (tp.email, tp.website, tp.country, tp.language) == (
        "info@hooli.example", "https://hooli.example", "US", "en_US")
    assert sorted(t.name for t in await tp.tags.all()) == ["tech", "vip"]
    assert sorted(u.id for u in await tp.sales_reps.all()) == sorted([ALICE.id, ADMIN.id])
    assert tp.created_by == ALICE.id
    await slack.wait_for("chat.postMessage")
    dm = slack.calls_to("conversations.open")[-1].args
    assert dm["users"] == ALICE.id
    card = slack.calls_to("chat.postMessage")[-1].args
    assert card["channel"] == "D" + ALICE.id
    assert tp.code in texts(card) and "Gavin is difficult" in texts(card)


async def test_modal_warns_of_duplicates_then_creates_when_confirmed(alice, slack):
    await alice.ask("new customer Pied Piper")
    await alice.command("new")
    view = await opened_view(slack)
    state = fill(view, {"name": "Pied Piper Inc", "type": "prospect", "town": "Palo Alto"})
    update = await alice.submit("thirdparty_new", state)
    assert update.json["response_action"] == "update"
    warned = update.json["view"]
    assert "looks like a third party you already have" in texts(warned)
    assert await ThirdParty.all().count() == 1
    # what was typed is still there; ticking the box creates it
    confirmed = fill(warned, {"create_anyway": ["yes"]})
    assert confirmed["town"]["value"]["value"] == "Palo Alto"
    reply = await alice.submit("thirdparty_new", confirmed)
    assert reply.status == 200 and not reply.text
    assert await ThirdParty.filter(name="Pied Piper Inc", town="Palo Alto").count() == 1


async def test_global_shortcut_opens_the_create_modal(alice, slack):
    reply = await alice.shortcut("new_thirdparty")
    assert (reply.status, reply.text) == (200, "")
    assert (await opened_view(slack))["callback_id"] == "thirdparty_new"


# -- edit, contacts, buttons -------------------------------------------------------------


async def test_edit_modal_is_prefilled_and_records_what_changed(alice, slack):
    await alice.ask("new customer Vandelay Industries")
    tp = await ThirdParty.get(name="Vandelay Industries")
    await alice.command("edit Vandelay")
    view = await opened_view(slack)
    assert view["callback_id"] == "thirdparty_edit" and json.loads(view["private_metadata"])["id"] == tp.id
    state = fill(view, {"town": "New York", "status": "closed", "tags": "importer"})
    assert state["name"]["value"]["value"] == "Vandelay Industries"
    reply = await alice.submit("thirdparty_edit", state, private_metadata=view["private_metadata"])
    assert reply.status == 200 and not reply.text
    tp = await ThirdParty.get(id=tp.id)
    assert (tp.town, tp.status) == ("New York", "closed")
    event = await Event.get(thirdparty=tp, code="COMPANY_MODIFY")
    assert event.details["changes"] == {"status": ["active", "closed"], "town": ["", "New York"],
                                        "tags": [[], ["importer"]]}


async def test_contact_add_modal_creates_the_contact(alice, slack):
    await alice.ask("new customer Kramerica")
    tp = await ThirdParty.get(name="Kramerica")
    await alice.command("contact add Kramerica")
    view = await opened_view(slack)
    assert view["callback_id"] == "contact_new"
    bad = await alice.submit("contact_new", fill(view, {"email": "kramer@"}), private_metadata=view["private_metadata"])
    assert "email" in bad.json["errors"]
    state = fill(view, {"first_name": "Cosmo", "last_name": "Kramer", "email": "cosmo@kramerica.example"})
    await alice.submit("contact_new", state, private_metadata=view["private_metadata"])
    contact = await Contact.get(thirdparty=tp)
    assert (contact.first_name, contact.email) == ("Cosmo", "cosmo@kramerica.example")
    assert await Event.filter(code="CONTACT_CREATE", contact=contact).count() == 1
    await slack.wait_for("chat.postMessage")
    assert "Cosmo Kramer" in texts(slack.calls_to("chat.postMessage")[-1].args)


async def test_card_buttons_open_modals_and_share_without_private_notes(alice, slack):
    await alice.ask("new customer Monks Diner")
    tp = await ThirdParty.get(name="Monks Diner")
    await ThirdParty.filter(id=tp.id).update(note_private="owes us money")
    await alice.action("thirdparty_edit", str(tp.id))
    assert (await opened_view(slack))["callback_id"] == "thirdparty_edit"
    await alice.action("contact_add", str(tp.id))
    await slack.wait_for("views.open", count=2)
    assert slack.calls_to("views.open")[-1].args["view"]["callback_id"] == "contact_new"
    shared = await alice.press("thirdparty_share", str(tp.id))
    assert shared["response_type"] == "in_channel"
    assert "Monks Diner" in texts(shared) and "owes us money" not in texts(shared)
    assert "thirdparty_edit" not in texts(shared)


# -- settings --------------------------------------------------------------------------


async def test_settings_are_for_admins(alice, admin, slack):
    refused = await alice.ask("settings")
    assert "Only admins can" in texts(refused)
    assert slack.calls_to("views.open") == []
    await admin.command("settings")
    assert (await opened_view(slack))["callback_id"] == "settings"


async def test_admin_changes_the_customer_code_mask(admin, alice, slack):
    await admin.command("settings")
    view = await opened_view(slack)
    bad = await admin.submit_form(view, {"mask.thirdparty": "C{0000@1}"})
    assert "needs a year part" in bad.json["errors"]["mask.thirdparty"]
    assert await NumberingMask.all().count() == 0
    await admin.submit_form(view, {"mask.thirdparty": "C{yyyy}-{t}{0000}"})
    assert (await NumberingMask.get(object_type="thirdparty")).mask == "C{yyyy}-{t}{0000}"
    await alice.ask("new prospect Bania Comedy")
    code = (await ThirdParty.get(name="Bania Comedy")).code
    assert code.endswith("-P0001") and code.startswith("C20")


async def test_admin_defines_a_custom_field_that_the_create_modal_validates(admin, alice, slack):
    await admin.command("settings")
    settings_view = await opened_view(slack)
    add = next(e for b in settings_view["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e["value"] == "thirdparty")
    await admin.action("customfield_add", add["value"], view=modal("settings", view_id="VSETTINGS"))
    pushed = await opened_view(slack, "views.push")
    state = fill(pushed, {"label": "Employees", "key": "employees", "field_type": "integer", "flags": ["required"]})
    reply = await admin.submit("customfield_new", state, private_metadata=pushed["private_metadata"],
                               previous_view_id="VSETTINGS")
    assert reply.status == 200 and not reply.text
    field = await CustomField.get(key="employees")
    assert (field.applies_to, field.field_type, field.required) == ("thirdparty", "integer", True)
    refreshed = (await slack.wait_for("views.update"))[-1].args
    assert refreshed["view_id"] == "VSETTINGS" and "Employees" in texts(refreshed["view"])

    await alice.command("new")
    view = (await slack.wait_for("views.open", count=2))[-1].args["view"]
    state = fill(view, {"name": "Sternberg", "type": "customer", "cf.employees": "12.5"})
    errors = await alice.submit("thirdparty_new", state)
    assert list(errors.json["errors"]) == ["cf.employees"]
    assert await ThirdParty.all().count() == 0
    await alice.submit("thirdparty_new", fill(view, {"name": "Sternberg", "type": "customer", "cf.employees": "12"}))
    tp = await ThirdParty.get(name="Sternberg")
    from crm import customfields

    assert (await customfields.values_by_owner("thirdparty", [tp.id]))[tp.id] == {"employees": 12}


async def test_a_user_slack_cannot_vouch_for_is_refused_until_it_can(alice, slack):
    slack.fail_next("users.info", error="fatal_error")
    refused = await alice.ask("new prospect Unverified Ltd")
    assert "could not check your Slack account" in texts(refused)
    assert await ThirdParty.all().count() == 0
    accepted = await alice.ask("new prospect Unverified Ltd")
    assert "Unverified Ltd" in texts(accepted)


async def test_a_contact_is_edited_from_the_card(alice, slack):
    await alice.ask("new customer Costanza Realty")
    tp = await ThirdParty.get(name="Costanza Realty")
    contact = await contacts.create(context(), tp.id, {"first_name": "George", "last_name": "Costanza"})
    card = await alice.ask("show Costanza")
    select = next(e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"] == "contact_edit")
    assert select["options"][0]["value"] == str(contact.id)
    await alice.action("contact_edit", action_type="static_select", selected_option=str(contact.id))
    view = await opened_view(slack)
    assert view["callback_id"] == "contact_edit" and json.loads(view["private_metadata"])["id"] == contact.id
    state = fill(view, {"job_title": "Architect"})
    assert state["first_name"]["value"]["value"] == "George"
    await alice.submit("contact_edit", state, private_metadata=view["private_metadata"])
    assert (await Contact.get(id=contact.id)).job_title == "Architect"
    event = await Event.get(code="CONTACT_MODIFY")
    assert event.details["changes"] == {"job_title": ["", "Architect"]} and event.contact_id == contact.id


async def test_admin_edits_and_removes_a_custom_field_from_the_settings(admin, slack):
    from crm import customfields

    field = await customfields.define(context(ADMIN), "thirdparty", "segment", "Segment", "select",
                                      options=[{"key": "smb", "label": "Small business"}])
    await admin.command("settings")
    settings_view = await opened_view(slack)
    menu = next(b["accessory"] for b in settings_view["blocks"] if b.get("accessory", {}).get("type") == "overflow")
    assert [o["value"] for o in menu["options"]] == [f"edit:{field.id}", f"remove:{field.id}"]

    await admin.action("customfield_menu", action_type="overflow", selected_option=f"edit:{field.id}",
                       view=modal("settings", view_id="VSETTINGS"))
    form = await opened_view(slack, "views.push")
    state = fill(form)
    assert state["options"]["value"]["value"] == "smb: Small business"
    bad = await admin.submit("customfield_edit", fill(form, {"options": "smb: Small\nsmb: Again"}),
                             private_metadata=form["private_metadata"], previous_view_id="VSETTINGS")
    assert "used twice" in bad.json["errors"]["options"]
    state = fill(form, {"label": "Market segment", "options": "smb: Small business\nent: Enterprise",
                        "flags": ["required"]})
    await admin.submit("customfield_edit", state, private_metadata=form["private_metadata"],
                       previous_view_id="VSETTINGS")
    field = await CustomField.get(id=field.id)
    assert (field.label, field.required, [o["key"] for o in field.options]) == ("Market segment", True, ["smb", "ent"])
    assert "Market segment" in texts((await slack.wait_for("views.update"))[-1].args["view"])

    await admin.action("customfield_menu", action_type="overflow", selected_option=f"remove:{field.id}",
                       view=modal("settings", view_id="VSETTINGS"))
    confirm = (await slack.wait_for("views.push", count=2))[-1].args["view"]
    assert confirm["callback_id"] == "customfield_remove" and "cannot be undone" in texts(confirm)
    await admin.submit("customfield_remove", {}, private_metadata=confirm["private_metadata"],
                       previous_view_id="VSETTINGS")
    assert await CustomField.all().count() == 0


async def test_a_form_slack_refuses_to_open_is_still_answered(alice, slack):
    slack.fail_next("views.open", error="expired_trigger_id")
    answer = await alice.ask("new")
    assert "Slack refused this (expired_trigger_id)" in texts(answer)


async def test_country_and_language_menus_name_their_choices_in_the_users_language(alice, admin, slack):
    await alice.command("new")
    view = await opened_view(slack)
    country = next(b for b in view["blocks"] if b["block_id"] == "country")["element"]
    assert country["type"] == "external_select"  # a menu, not a two-letter box
    offered = (await alice.suggest("value", "allem", block_id="country", view={"id": "V1", **view})).json["options"]
    assert [(o["text"]["text"], o["value"]) for o in offered] == [("Allemagne", "DE")]
    first = (await alice.suggest("value", "", block_id="country", view={"id": "V1", **view})).json["options"]
    assert first[0]["value"] == "-" and len(first) == 100  # "No country", then as many as Slack shows
    offered = (await admin.suggest("value", "germ", block_id="country", view={"id": "V1", **view})).json["options"]
    assert [o["text"]["text"] for o in offered] == ["Germany"]
    languages = (await alice.suggest("value", "français can", block_id="language",
                                     view={"id": "V1", **view})).json["options"]
    assert [(o["text"]["text"], o["value"]) for o in languages] == [("Français (Canada)", "fr_CA")]
    state = fill(view, {"name": "Bäckerei Müller", "type": "customer", "phone": "030 1234567",
                        "country": await suggested(alice, view, "country", "allemagne"),
                        "language": languages[0]})
    assert (await alice.submit("thirdparty_new", state)).status == 200
    tp = await ThirdParty.get(name="Bäckerei Müller")
    assert (tp.country, tp.language, tp.phone) == ("DE", "fr_CA", "+49301234567")  # read as a German number

    await alice.command("edit Bäckerei")
    form = (await slack.wait_for("views.open", count=2))[-1].args["view"]
    blocks = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert (blocks["country"]["initial_option"]["text"]["text"], blocks["country"]["initial_option"]["value"]) == (
        "Allemagne", "DE")
    assert blocks["phone"]["initial_value"] == "+49 30 1234567"  # shown as people write it


async def test_a_country_typed_before_the_menu_survives_an_edit(alice, slack):
    await alice.ask("new customer Initech")
    await ThirdParty.filter(name="Initech").update(country="UK", phone="0207 946 0000")  # as typed long ago
    await alice.command("edit Initech")
    form = await opened_view(slack)
    country = next(b for b in form["blocks"] if b["block_id"] == "country")
    assert "initial_option" not in country["element"] and "Now: UK" in country["hint"]["text"]
    reply = await alice.submit("thirdparty_edit", fill(form, {"town": "London"}),
                               private_metadata=form["private_metadata"])
    assert (reply.status, reply.text) == (200, "")
    tp = await ThirdParty.get(name="Initech")
    assert (tp.town, tp.country, tp.phone) == ("London", "UK", "0207 946 0000")  # kept as typed
