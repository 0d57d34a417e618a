"""Buttons, menus, form submissions and shortcuts about third parties and contacts."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import cards, forms
from bot.commands import (
    create_offered, edit_contact_form, edit_thirdparty_form, new_contact_form, new_thirdparty_form,
)
from bot.message_prefill import thirdparty_values
from bot.payloads import action, form_values, record_id, selected_value
from bot.record_card import card_message
from bot.surface import Interaction, Listeners, Surface
from crm import contacts, customfields, pending, thirdparties

NEW_THIRDPARTY_SHORTCUT = "new_thirdparty"
FROM_MESSAGE_SHORTCUT = "thirdparty_from_message"


def _button_record(it: Interaction) -> int:
    return record_id(action(it.body).get("value"))


class FoundDuplicates(Exception):
    """A new third party looks like records we have: the form comes back listing them."""

    def __init__(self, duplicates: list):
        super().__init__("likely duplicates")
        self.duplicates = duplicates


def register(app: AsyncApp, surface: Surface) -> None:
    on = Listeners(app, surface)

    @on.shortcut(NEW_THIRDPARTY_SHORTCUT)
    async def new_thirdparty_shortcut(it: Interaction) -> None:
        await it.open_form(lambda: new_thirdparty_form(it))

    @on.shortcut(FROM_MESSAGE_SHORTCUT)
    async def new_thirdparty_from_message(it: Interaction) -> None:
        values = thirdparty_values((it.body.get("message") or {}).get("text") or "")
        await it.open_form(lambda: new_thirdparty_form(it, values))

    @on.action("thirdparty_show")
    async def show(it: Interaction) -> None:
        await it.answer(await card_message(it, _button_record(it)))

    @on.action("thirdparty_open")
    async def open_from_modal(it: Interaction) -> None:
        """"Open" next to a likely duplicate in the create modal: the card, stacked on top."""
        async def build() -> dict:
            message = await card_message(it, _button_record(it), buttons=False)
            return {"type": "modal", "title": {"type": "plain_text", "text": "Third party"},
                    "close": {"type": "plain_text", "text": "Back"}, "blocks": message["blocks"]}
        await it.open_form(build, push=True)

    @on.action("thirdparty_edit")
    async def edit(it: Interaction) -> None:
        await it.open_form(lambda: edit_thirdparty_form(it, _button_record(it)))

    @on.action("contact_add")
    async def add_contact(it: Interaction) -> None:
        await it.open_form(lambda: new_contact_form(it, _button_record(it)))

    @on.action("contact_edit")
    async def edit_contact(it: Interaction) -> None:
        await it.open_form(lambda: edit_contact_form(it, record_id(selected_value(it.body))))

    @on.action("thirdparty_share")
    async def share(it: Interaction) -> None:
        """The person confirmed sharing the full card (without private notes) with the channel:
        people are named, not mentioned, and it says who shared it."""
        card = await thirdparties.card(it.ctx, _button_record(it))
        names = await it.names([*card.sales_reps, card.thirdparty.created_by, it.user_id])
        await it.respond(response_type="in_channel", replace_original=False,
                         **cards.record_card(card, private=False, names=names, shared_by=it.user_id))

    @on.action("thirdparty_create_anyway")
    async def create_anyway(it: Interaction) -> None:
        await create_offered(it, str(action(it.body).get("value", "")))

    @on.submission(forms.THIRDPARTY_NEW)
    async def submit_new_thirdparty(it: Interaction):
        state = form_values(it.body)
        fields = await customfields.definitions("thirdparty")
        submitted = forms.read_submission(state, fields, thirdparties.FIELDS)
        values, tags, reps, custom = (submitted["values"], submitted.get("tags", []),
                                      submitted.get("sales_reps", []), submitted["custom"])
        await thirdparties.validate_new(it.ctx, values, tags, custom, reps)

        async def create() -> int:
            # checked inside the once-only transaction: a second submission of this form waits
            # for the first, then finds its record made instead of taking it for a duplicate
            duplicates = [] if forms.create_anyway(state) else await thirdparties.likely_duplicates(it.ctx, values)
            if duplicates:
                raise FoundDuplicates(duplicates)
            tp = await thirdparties.create(it.ctx, values, tags=tags, sales_reps=reps, custom=custom)
            return tp.id

        try:
            outcome = await pending.once(it.ctx, f"view:{it.body['view']['id']}", "thirdparty.form", create)
        except FoundDuplicates as found:
            view = forms.new_thirdparty_modal(
                fields, values, tags=tags, sales_reps=reps, duplicates=found.duplicates,
                custom_values=customfields.parse_given(fields, custom, it.ctx.timezone), reader=it.reader)
            return {"response_action": "update", "view": view}, None
        return {}, None if outcome.repeated else _post_card(it, outcome.result_id)

    @on.submission(forms.THIRDPARTY_EDIT)
    async def submit_edit_thirdparty(it: Interaction):
        form = forms.read_form_state(it.body["view"].get("private_metadata", ""))
        fields = await customfields.definitions("thirdparty")
        submitted = forms.read_submission(form_values(it.body), fields, thirdparties.FIELDS, form.kept)
        tp, changes = await thirdparties.update(
            it.ctx, form.record_id, submitted["values"], tags=submitted.get("tags"),
            sales_reps=submitted.get("sales_reps"), custom=submitted["custom"], shown=form.shown)
        return {}, _post_card(it, tp.id) if changes else None

    @on.submission(forms.CONTACT_NEW)
    async def submit_new_contact(it: Interaction):
        thirdparty_id = record_id(it.body["view"].get("private_metadata", ""))
        fields = await customfields.definitions("contact")
        submitted = forms.read_submission(form_values(it.body), fields, contacts.FIELDS)

        async def create() -> int:
            return (await contacts.create(it.ctx, thirdparty_id, submitted["values"], custom=submitted["custom"])).id

        outcome = await pending.once(it.ctx, f"view:{it.body['view']['id']}", "contact.form", create)
        return {}, None if outcome.repeated else _post_card(it, thirdparty_id)

    @on.submission(forms.CONTACT_EDIT)
    async def submit_edit_contact(it: Interaction):
        form = forms.read_form_state(it.body["view"].get("private_metadata", ""))
        fields = await customfields.definitions("contact")
        submitted = forms.read_submission(form_values(it.body), fields, contacts.FIELDS, form.kept)
        contact, changes = await contacts.update(it.ctx, form.record_id, submitted["values"],
                                                 custom=submitted["custom"], shown=form.shown)
        return {}, _post_card(it, contact.thirdparty_id) if changes else None


def _post_card(it: Interaction, thirdparty_id: int):
    """After a save: the card, in the person's conversation with the app."""
    async def post() -> None:
        await it.direct_message(await card_message(it, thirdparty_id))
    return post
