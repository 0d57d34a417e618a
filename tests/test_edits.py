"""No lost update (SPEC §3): an edit applies only what its user changed since the form opened;
a field someone else changed meanwhile is refused, naming the newer value, and nothing is saved."""
import pytest

from crm import contacts, customfields, numbering, thirdparties, versions
from crm.errors import EditConflict, ValidationError
from models import Contact, CustomField, Event, NumberingMask, ThirdParty
from tests.conftest import ADMIN, context


async def acme(tags=(), sales_reps=(), custom=None, **values):
    return await thirdparties.create(context(), {"name": "Acme", "type": "customer", **values}, tags=tags,
                                     sales_reps=sales_reps, custom=custom)


async def test_a_stale_form_saves_only_what_its_user_changed(db):
    tp = await acme(town="Paris", email="old@acme.example", phone="")
    first = await thirdparties.edit_form(context(), tp.id)   # alice opens the form…
    second = await thirdparties.edit_form(context(ADMIN), tp.id)  # …and so does the admin
    await thirdparties.update(context(ADMIN), tp.id, {**_shown(second), "town": "Lyon", "email": "new@acme.example"},
                              shown=second.versions)
    # alice's form still shows Paris and the old email; she only types a phone number
    _, changes = await thirdparties.update(context(), tp.id, {**_shown(first), "phone": "+33 1 23 45 67 89"},
                                           shown=first.versions)
    stored = await ThirdParty.get(id=tp.id)
    assert (stored.town, stored.email, stored.phone) == ("Lyon", "new@acme.example", "+33123456789")
    assert changes.fields == {"phone": ("", "+33123456789")}
    last = await Event.filter(code="COMPANY_MODIFY").order_by("-id").first()
    assert last.details == {"changes": {"phone": ["", "+33123456789"]}}  # the timeline records no undo


async def test_the_same_field_changed_meanwhile_is_refused_with_the_newer_value(db):
    tp = await acme(town="Paris")
    first = await thirdparties.edit_form(context(), tp.id)
    await thirdparties.update(context(ADMIN), tp.id, {"town": "Lyon"})
    with pytest.raises(EditConflict) as conflict:
        await thirdparties.update(context(), tp.id, {**_shown(first), "town": "Nice", "phone": "+33 6 00 00 00 01"},
                                  shown=first.versions)
    assert list(conflict.value.fields) == ["town"]
    assert "“Lyon”" in conflict.value.fields["town"]
    stored = await ThirdParty.get(id=tp.id)
    assert (stored.town, stored.phone) == ("Lyon", "")  # nothing saved, the phone neither
    # making the same change as the other person is no conflict
    _, changes = await thirdparties.update(context(), tp.id, {**_shown(first), "town": "Lyon"}, shown=first.versions)
    assert not changes


async def test_tags_reps_and_custom_values_are_versioned_too(db):
    await customfields.define(context(ADMIN), "thirdparty", "size", "Size", "integer")
    tp = await acme(tags=["vip"], sales_reps=["U0BOB"], custom={"size": "10"})
    form = await thirdparties.edit_form(context(), tp.id)
    await thirdparties.update(context(ADMIN), tp.id, {}, tags=["vip", "north"], custom={"size": "12"})
    # the stale form sends back what it showed for tags and size, and a new rep
    await thirdparties.update(context(), tp.id, {}, tags=form.tags, sales_reps=["U0CAROL"],
                              custom={"size": "10"}, shown=form.versions)
    assert (await thirdparties.card(context(), tp.id)).tags == ["north", "vip"]
    assert (await customfields.values_by_owner("thirdparty", [tp.id]))[tp.id] == {"size": 12}
    assert (await thirdparties.card(context(), tp.id)).sales_reps == ["U0CAROL"]
    with pytest.raises(EditConflict) as conflict:
        await thirdparties.update(context(), tp.id, {}, custom={"size": "11"}, shown=form.versions)
    assert list(conflict.value.fields) == ["cf.size"] and "“12”" in conflict.value.fields["cf.size"]


async def test_contact_edits_keep_what_others_saved(db):
    tp = await acme()
    contact = await contacts.create(context(), tp.id, {"first_name": "Jane", "last_name": "Doe"})
    first = await contacts.edit_form(context(), contact.id)
    await contacts.update(context(ADMIN), contact.id, {"email": "jane@acme.example"})
    shown = {name: getattr(first.contact, name) for name in contacts.FIELDS}
    await contacts.update(context(), contact.id, {**shown, "job_title": "CFO"}, shown=first.versions)
    stored = await Contact.get(id=contact.id)
    assert (stored.email, stored.job_title) == ("jane@acme.example", "CFO")
    with pytest.raises(EditConflict) as conflict:
        await contacts.update(context(), contact.id, {**shown, "email": "doe@acme.example"}, shown=first.versions)
    assert "“jane@acme.example”" in conflict.value.fields["email"]
    assert (await Contact.get(id=contact.id)).email == "jane@acme.example"


async def test_masks_are_checked_then_saved_together_or_not_at_all(db):
    admin = context(ADMIN)
    with pytest.raises(ValidationError) as error:
        await numbering.set_masks(admin, {"thirdparty": "K{yyyy}-{0000}", "invoice": "X{00}"})
    assert error.value.field == "mask.invoice"
    assert await NumberingMask.all().count() == 0  # the valid customer-code mask was not saved either
    shown = numbering.mask_versions(await numbering.masks(admin))
    await numbering.set_masks(admin, {"thirdparty": "K{yyyy}-{0000}"})  # another admin, meanwhile
    with pytest.raises(EditConflict) as conflict:
        await numbering.set_masks(admin, {"thirdparty": "Z{yyyy}-{0000}", "invoice": "I{yyyy}-{0000}"}, shown)
    assert list(conflict.value.fields) == ["mask.thirdparty"] and "K{yyyy}-{0000}" in conflict.value.fields[
        "mask.thirdparty"]
    assert dict(await NumberingMask.all().values_list("object_type", "mask")) == {"thirdparty": "K{yyyy}-{0000}"}
    # a form that left the customer-code mask as it showed it saves only the invoice mask
    masks = await numbering.masks(admin)
    shown_now = {object_type: mask.text for object_type, mask in masks.items()}
    await numbering.set_masks(admin, {**shown_now, "invoice": "I{yyyy}-{0000}"}, numbering.mask_versions(masks))
    assert dict(await NumberingMask.all().values_list("object_type", "mask")) == {
        "thirdparty": "K{yyyy}-{0000}", "invoice": "I{yyyy}-{0000}"}


async def test_a_field_definition_form_keeps_another_admins_change(db):
    admin = context(ADMIN)
    field = await customfields.define(admin, "thirdparty", "segment", "Segment", "string")
    shown = customfields.definition_versions(field)
    await customfields.redefine(admin, field.id, label="Market", position=3)
    await customfields.redefine(admin, field.id, label="Segment", required=True, shown=shown)
    stored = await CustomField.get(id=field.id)
    assert (stored.label, stored.position, stored.required) == ("Market", 3, True)
    with pytest.raises(EditConflict) as conflict:
        await customfields.redefine(admin, field.id, label="Sector", shown=shown)
    assert "“Market”" in conflict.value.fields["label"]


def test_fingerprints_tell_values_apart_and_fit_slack_metadata():
    assert versions.fingerprint("") != versions.fingerprint(None)
    assert versions.fingerprint(["a", "b"]) != versions.fingerprint("a\x1fb ")
    assert versions.fingerprint("Lyon") == versions.fingerprint("Lyon") and len(versions.fingerprint("x")) == 8
    # a lone surrogate (refused elsewhere) must not crash the fingerprint of what a form showed
    assert len(versions.fingerprint("\ud800")) == 8


def _shown(form) -> dict:
    """What an edit form sends back when its user touches nothing: the values it was opened with."""
    return {name: getattr(form.thirdparty, name) for name in thirdparties.FIELDS}


def test_the_versions_of_the_largest_form_fit_slack_private_metadata():
    """Every built-in field, tags, reps and 40 custom fields with the longest keys, all kept
    (the longest marks): Slack keeps 3,000 characters of private_metadata."""
    from bot.forms import form_state, read_form_state

    names = [*thirdparties.FIELDS, "tags", "sales_reps",
             *(f"cf.{number:02d}" + "k" * 30 for number in range(customfields.MAX_FIELDS))]
    shown = {name: versions.fingerprint(name) for name in names}
    kept = [name for name in names if name.startswith("cf.")]
    metadata = form_state(shown, kept, record=2**31 - 1)
    assert len(metadata) <= 3000
    state = read_form_state(metadata)
    assert state.shown == shown and state.kept == frozenset(kept) and state.record_id == 2**31 - 1
