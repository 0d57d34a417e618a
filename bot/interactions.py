"""Buttons, modal submissions and shortcuts about third parties and contacts."""
from __future__ import annotations

import json

from slack_bolt.async_app import AsyncApp

from bot import cards, forms
from bot.commands import card_message, contact_modal, edit_contact_modal, edit_modal
from crm import contacts, customfields, thirdparties
from crm.errors import DomainError, ValidationError
from crm.settings import Settings

NEW_THIRDPARTY_SHORTCUT = "new_thirdparty"


def register(app: AsyncApp, settings: Settings) -> None:
    @app.shortcut(NEW_THIRDPARTY_SHORTCUT)
    async def new_thirdparty_shortcut(ack, body, client):
        await ack()
        fields = await customfields.definitions("thirdparty")
        await client.views_open(trigger_id=body["trigger_id"], view=forms.thirdparty_modal(fields))

    @app.action("thirdparty_show")
    async def show(ack, action, context, respond):
        await ack()
        await respond(replace_original=False, response_type="ephemeral",
                      **await card_message(int(action["value"]), context["tz"]))

    @app.action("thirdparty_open")
    async def open_from_modal(ack, action, body, context, client):
        """"Open" next to a likely duplicate in the create modal: the card, stacked on top."""
        await ack()
        message = await card_message(int(action["value"]), context["tz"], buttons=False)
        view = {"type": "modal", "title": {"type": "plain_text", "text": "Third party"},
                "close": {"type": "plain_text", "text": "Back"}, "blocks": message["blocks"]}
        await client.views_push(trigger_id=body["trigger_id"], view=view)

    @app.action("thirdparty_edit")
    async def edit(ack, action, body, client):
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=await edit_modal(int(action["value"])))

    @app.action("contact_add")
    async def add_contact(ack, action, body, client):
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=await contact_modal(int(action["value"])))

    @app.action("contact_edit")
    async def edit_contact(ack, action, body, client):
        await ack()
        view = await edit_contact_modal(int(action["selected_option"]["value"]))
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action("thirdparty_share")
    async def share(ack, action, context, respond):
        """The poster chose to share the full card (without private notes) with the channel."""
        await ack()
        await respond(replace_original=False, response_type="in_channel",
                      **await card_message(int(action["value"]), context["tz"], private=False))

    @app.action("thirdparty_create_anyway")
    async def create_anyway(ack, action, context, respond):
        await ack()
        values = json.loads(action["value"])
        try:
            tp = await thirdparties.create(context["actor"], values, tz=settings.timezone,
                                           default_role=settings.default_role)
        except DomainError as error:
            await respond(replace_original=False, **cards.error_message(str(error)))
            return
        await respond(replace_original=True, **await card_message(tp.id, context["tz"]))

    async def submit_form(ack, view, context, client, applies_to: str, field_names, save) -> None:
        """A create/edit modal: read it, `save(submission, state)` in the domain, and answer.

        A domain error goes next to its field and nothing is saved; `save` returns the id of
        the third party whose card goes to the person's DM, or None when there is nothing to
        show (an edit that changed nothing, or `save` already answered Slack).
        """
        state = view["state"]["values"]
        submission = forms.read_submission(state, await customfields.definitions(applies_to), field_names)
        try:
            thirdparty_id = await save(submission, state)
        except DomainError as error:
            await ack(response_action="errors", errors=modal_errors(error, state))
            return
        if thirdparty_id is None:
            return
        await ack()
        await direct_message(client, context["actor"].id, await card_message(thirdparty_id, context["tz"]))

    @app.view(forms.THIRDPARTY_NEW)
    async def submit_new_thirdparty(ack, view, context, client):
        async def save(submission, state):
            values = submission["values"]
            await thirdparties.validate_new(values, submission["tags"], submission["custom"], submission["sales_reps"])
            duplicates = [] if forms.create_anyway(state) else await thirdparties.likely_duplicates(values)
            if duplicates:
                fields = await customfields.definitions("thirdparty")
                custom_values = await customfields.parsed("thirdparty", submission["custom"])
                await ack(response_action="update", view=forms.thirdparty_modal(
                    fields, values, tags=submission["tags"], sales_reps=submission["sales_reps"],
                    custom_values=custom_values, duplicates=duplicates))
                return None
            tp = await thirdparties.create(context["actor"], values, tz=settings.timezone, tags=submission["tags"],
                                           sales_reps=submission["sales_reps"], custom=submission["custom"],
                                           default_role=settings.default_role)
            return tp.id

        await submit_form(ack, view, context, client, "thirdparty", thirdparties.FIELDS, save)

    @app.view(forms.THIRDPARTY_EDIT)
    async def submit_edit_thirdparty(ack, view, context, client):
        async def save(submission, state):
            tp, changes = await thirdparties.update(
                context["actor"], int(view["private_metadata"]), submission["values"], tags=submission["tags"],
                sales_reps=submission["sales_reps"], custom=submission["custom"], default_role=settings.default_role,
                tz=settings.timezone)
            if not changes:
                await ack()  # nothing to announce
                return None
            return tp.id

        await submit_form(ack, view, context, client, "thirdparty", thirdparties.FIELDS, save)

    @app.view(forms.CONTACT_NEW)
    async def submit_new_contact(ack, view, context, client):
        async def save(submission, state):
            contact = await contacts.create(context["actor"], int(view["private_metadata"]), submission["values"],
                                            custom=submission["custom"], tz=settings.timezone)
            return contact.thirdparty_id

        await submit_form(ack, view, context, client, "contact", contacts.FIELDS, save)

    @app.view(forms.CONTACT_EDIT)
    async def submit_edit_contact(ack, view, context, client):
        async def save(submission, state):
            contact, changes = await contacts.update(context["actor"], int(view["private_metadata"]),
                                                     submission["values"], custom=submission["custom"],
                                                     tz=settings.timezone)
            if not changes:
                await ack()
                return None
            return contact.thirdparty_id

        await submit_form(ack, view, context, client, "contact", contacts.FIELDS, save)


def modal_errors(error: DomainError, state: dict) -> dict[str, str]:
    """`response_action: errors` wants a block id: the field at fault, else the first input."""
    field = error.field if isinstance(error, ValidationError) else None
    block_id = field if field in state else next(iter(state))
    return {block_id: str(error)[:300]}


async def direct_message(client, user_id: str, message: dict) -> None:
    """Post in the person's conversation with the app (SPEC §3: long results go there)."""
    channel = (await client.conversations_open(users=user_id))["channel"]["id"]
    await client.chat_postMessage(channel=channel, **message)
