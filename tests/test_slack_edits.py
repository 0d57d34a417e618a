"""Edit forms through Slack: two people at once, values a form cannot show, tags that fill the box."""
from __future__ import annotations

import json

from crm import contacts, customfields, thirdparties
from models import Contact, NumberingMask, ThirdParty
from tests.conftest import ADMIN, context
from tests.slack_forms import fill


def texts(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


async def open_form(person, slack, text: str) -> dict:
    before = len(slack.calls_to("views.open"))
    await person.command(text)
    return (await slack.wait_for("views.open", count=before + 1))[-1].args["view"]


async def test_two_people_editing_one_record_lose_nothing(alice, admin, slack):
    tp = await thirdparties.create(context(), {"name": "Vandelay", "type": "customer", "town": "Paris",
                                               "email": "art@vandelay.example"})
    alices_form = await open_form(alice, slack, "edit Vandelay")
    admins_form = await open_form(admin, slack, "edit Vandelay")
    saved = await admin.submit_form(admins_form, {"town": "New York", "email": "info@vandelay.example"})
    assert (saved.status, saved.text) == (200, "")
    # alice's form still shows Paris and the old email; she adds a phone number only
    saved = await alice.submit_form(alices_form, {"phone": "+1 212 555 0100"})
    assert (saved.status, saved.text) == (200, "")
    stored = await ThirdParty.get(id=tp.id)
    assert (stored.town, stored.email, stored.phone) == ("New York", "info@vandelay.example", "+12125550100")
    # where both changed the same field, the later save is refused beside it, naming the newer value
    alices_form = await open_form(alice, slack, "edit Vandelay")
    await admin.submit_form(await open_form(admin, slack, "edit Vandelay"), {"town": "Chicago"})
    refused = await alice.submit_form(alices_form, {"town": "Boston", "phone": "+1 212 555 0199"})
    assert refused.json["response_action"] == "errors"
    assert list(refused.json["errors"]) == ["town"] and "“Chicago”" in refused.json["errors"]["town"]
    stored = await ThirdParty.get(id=tp.id)
    assert (stored.town, stored.phone) == ("Chicago", "+12125550100")


async def test_a_stale_contact_form_keeps_what_others_saved(alice, admin, slack):
    tp = await thirdparties.create(context(), {"name": "Kramerica", "type": "customer"})
    contact = await contacts.create(context(), tp.id, {"first_name": "Cosmo", "last_name": "Kramer"})
    await alice.action("contact_edit", action_type="static_select", selected_option=str(contact.id))
    alices_form = (await slack.wait_for("views.open"))[-1].args["view"]
    await contacts.update(context(ADMIN), contact.id, {"email": "cosmo@kramerica.example"})
    await alice.submit_form(alices_form, {"job_title": "Founder"})
    stored = await Contact.get(id=contact.id)
    assert (stored.email, stored.job_title) == ("cosmo@kramerica.example", "Founder")


async def test_settings_are_saved_all_or_nothing_and_keep_another_admins_mask(admin, slack):
    form = await open_form(admin, slack, "settings")
    refused = await admin.submit_form(form, {"mask.thirdparty": "K{yyyy}-{0000}", "mask.invoice": "X{00}"})
    assert list(refused.json["errors"]) == ["mask.invoice"]
    assert await NumberingMask.all().count() == 0
    other = await open_form(admin, slack, "settings")
    await admin.submit_form(other, {"mask.invoice": "INV{yyyy}-{0000}"})
    await admin.submit_form(form, {"mask.thirdparty": "K{yyyy}-{0000}"})
    assert dict(await NumberingMask.all().values_list("object_type", "mask")) == {
        "invoice": "INV{yyyy}-{0000}", "thirdparty": "K{yyyy}-{0000}"}


async def test_a_select_with_more_options_than_slack_lists_keeps_its_value(alice, slack):
    options = [{"key": f"region_{n}", "label": f"Région {n}"} for n in range(150)]
    await customfields.define(context(ADMIN), "thirdparty", "region", "Region", "select", options=options)
    tp = await thirdparties.create(context(), {"name": "Globex", "type": "customer"},
                                   custom={"region": "region_120"})
    form = await open_form(alice, slack, "edit Globex")
    region = next(b for b in form["blocks"] if b.get("block_id") == "cf.region")["element"]
    assert region["type"] == "external_select"
    assert region["initial_option"] == {"text": {"type": "plain_text", "text": "Région 120"}, "value": "region_120"}
    # the typeahead, as Slack asks for it while the person types
    suggestions = await alice.suggest("value", "region 12", block_id="cf.region",
                                      view={**form, "id": "VEDIT"})
    labels = [o["text"]["text"] for o in suggestions.json["options"]]
    assert labels[0] == "Région 12" and "Région 120" in labels and "Région 13" not in labels
    await alice.submit_form(form, {"town": "Springfield"})
    assert (await customfields.values_by_owner("thirdparty", [tp.id]))[tp.id] == {"region": "region_120"}
    assert (await ThirdParty.get(id=tp.id)).town == "Springfield"


async def test_a_value_whose_option_was_removed_survives_an_edit_and_shows_as_removed(alice, admin, slack):
    field = await customfields.define(context(ADMIN), "thirdparty", "segment", "Segment", "multiselect",
                                      options=[{"key": "smb", "label": "Small business"},
                                               {"key": "gov", "label": "Government"}])
    tp = await thirdparties.create(context(), {"name": "Initech", "type": "customer"}, custom={"segment": "gov;smb"})
    await customfields.redefine(context(ADMIN), field.id, label="Segment",
                                options=[{"key": "smb", "label": "Small business"}])
    card = await alice.ask("show Initech")
    assert "Small business, gov (removed option)" in texts(card)
    form = await open_form(alice, slack, "edit Initech")
    segment = next(b for b in form["blocks"] if b.get("block_id") == "cf.segment")
    assert "initial_options" not in segment["element"] and "gov (removed option)" in segment["hint"]["text"]
    await alice.submit_form(form, {"town": "Austin"})
    assert (await customfields.values_by_owner("thirdparty", [tp.id]))[tp.id] == {"segment": ["smb", "gov"]}
    # choosing something replaces it
    await alice.submit_form(await open_form(alice, slack, "edit Initech"), {"cf.segment": ["smb"]})
    assert (await customfields.values_by_owner("thirdparty", [tp.id]))[tp.id] == {"segment": ["smb"]}


async def test_every_tag_a_record_may_have_fits_its_edit_form(alice, slack):
    tags = [f"{n:02d}" + "t" * 62 for n in range(thirdparties.MAX_TAGS)]
    create = await open_form(alice, slack, "new")
    saved = await alice.submit_form(create, {"name": "Tagged", "type": "customer", "tags": ",".join(tags)})
    assert (saved.status, saved.text) == (200, "")
    form = await open_form(alice, slack, "edit Tagged")
    box = next(b for b in form["blocks"] if b.get("block_id") == "tags")["element"]
    assert len(box["initial_value"]) <= box["max_length"] <= 3000
    assert sorted(fill(form)["tags"]["value"]["value"].split(", ")) == tags
    refused = await alice.submit_form(form, {"tags": ",".join(tags + ["one more"])})
    assert list(refused.json["errors"]) == ["tags"] and "at most 40 tags" in refused.json["errors"]["tags"]
