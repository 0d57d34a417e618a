"""`/crm settings` (admins): numbering masks and custom fields."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks import (
    actions, button, context, divider, escape, header, input_block, modal, option, plain, section, text_input,
)
from crm import clock, customfields, fieldtypes, masks, numbering
from crm.errors import DomainError, ValidationError
from crm.permissions import require_admin
from crm.settings import Settings

SETTINGS = "settings"
CUSTOMFIELD_NEW = "customfield_new"
MASK_LABELS = {
    "thirdparty": "Customer codes",
    "proposal": "Proposals",
    "order": "Sales orders",
    "intervention": "Interventions",
    "invoice": "Invoices",
}
TARGET_LABELS = {"thirdparty": "third parties", "contact": "contacts"}
MASK_HINT = ("{yyyy} {yy} {mm} {dd} date parts, {t} P/C/B, one counter {00000}; {00000+100} starts at 100, "
             "{00000@1} resets every year, {00000@0} every month.")


async def settings_modal() -> dict:
    blocks = [header("Numbering masks")]
    for object_type, label in MASK_LABELS.items():
        mask = await numbering.current_mask(object_type)
        example = masks.preview(mask.text, clock.now(), _tz())
        blocks.append(input_block(f"mask.{object_type}", label, text_input(mask.text, max_length=64),
                                  optional=False, hint=f"Next period starts at {example}. {MASK_HINT}"))
    for applies_to, label in TARGET_LABELS.items():
        blocks += [divider(), header(f"Custom fields of {label}")]
        fields = await customfields.definitions(applies_to)
        for f in fields:
            flags = ", ".join(flag for flag, on in (("required", f.required), ("unique", f.unique)) if on)
            remove = button("Remove", "customfield_remove", str(f.id), style="danger")
            remove["confirm"] = {
                "title": plain("Remove this field?"),
                "text": plain(f"{f.label} and every value stored in it will be deleted."),
                "confirm": plain("Remove"), "deny": plain("Keep"), "style": "danger",
            }
            blocks.append(section(f"*{escape(f.label)}* `{f.key}` · {f.field_type}" + (f" · {flags}" if flags else ""),
                                  accessory=remove))
        if not fields:
            blocks.append(context("None yet."))
        blocks.append(actions(button(f"Add a field to {label}", "customfield_add", applies_to),
                              block_id=f"add.{applies_to}"))
    return modal("CRM settings", blocks, callback_id=SETTINGS)


def customfield_modal(applies_to: str) -> dict:
    type_options = [option(t, t) for t in fieldtypes.FIELD_TYPES]
    flags = {"type": "checkboxes", "options": [option("Required", "required"), option("Unique", "unique")]}
    blocks = [
        input_block("label", "Label", text_input(max_length=60, placeholder="Segment"), optional=False),
        input_block("key", "Key", text_input(max_length=32, placeholder="segment"), optional=False,
                    hint="Lower case letters, digits and _; used in filters (cf.segment) and exports."),
        input_block("field_type", "Type", {"type": "static_select", "options": type_options}, optional=False),
        input_block("options", "Choices (select and multiselect)", text_input(multiline=True, max_length=3000),
                    hint="One per line as key: Label, e.g. smb: Small business"),
        input_block("default", "Default value", text_input()),
        input_block("flags", "Rules", flags),
        input_block("position", "Position", {"type": "number_input", "is_decimal_allowed": False},
                    hint="Smaller numbers come first in forms and cards."),
    ]
    return modal(f"New field: {TARGET_LABELS[applies_to]}"[:24], blocks, callback_id=CUSTOMFIELD_NEW,
                 private_metadata=applies_to, submit="Add")


def parse_options(text: str) -> list[dict]:
    """ "key: Label" lines into option dicts; a line without a colon is its own key and label."""
    parsed = []
    for line in text.splitlines():
        if line.strip():
            key, _, label = line.partition(":")
            parsed.append({"key": key.strip(), "label": (label or key).strip()})
    return parsed


def _tz():
    return _settings.timezone


_settings: Settings


def register(app: AsyncApp, settings: Settings) -> None:
    global _settings
    _settings = settings

    @app.view(SETTINGS)
    async def save_settings(ack, view, context):
        state = view["state"]["values"]
        try:
            require_admin(context["actor"], "change settings")
            for object_type in MASK_LABELS:
                text = state[f"mask.{object_type}"]["value"]["value"] or ""
                current = await numbering.current_mask(object_type)
                if text.strip() != current.text:
                    await numbering.set_mask(context["actor"], object_type, text)
        except ValidationError as error:
            await ack(response_action="errors", errors={f"mask.{object_type}": error.message})
            return
        except DomainError as error:
            await ack(response_action="errors", errors={"mask.thirdparty": str(error)})
            return
        await ack()

    @app.action("customfield_add")
    async def add_field(ack, action, body, client):
        await ack()
        await client.views_push(trigger_id=body["trigger_id"], view=customfield_modal(action["value"]))

    @app.action("customfield_remove")
    async def remove_field(ack, action, body, context, client):
        await ack()
        await customfields.remove(context["actor"], int(action["value"]))
        await client.views_update(view_id=body["view"]["id"], view=await settings_modal())

    @app.view(CUSTOMFIELD_NEW)
    async def define_field(ack, view, context, client):
        state = view["state"]["values"]

        def value(block_id: str, key: str = "value"):
            return state[block_id]["value"].get(key)

        flags = {o["value"] for o in value("flags", "selected_options") or []}
        field_type = (value("field_type", "selected_option") or {}).get("value", "")
        position = value("position")
        try:
            await customfields.define(
                context["actor"], view["private_metadata"], (value("key") or "").strip(), value("label") or "",
                field_type, options=parse_options(value("options") or ""), default=value("default") or None,
                required="required" in flags, unique="unique" in flags,
                position=int(position) if position not in (None, "") else None,
            )
        except DomainError as error:
            field = getattr(error, "field", "label")
            await ack(response_action="errors", errors={field if field in state else "label": str(error)[:300]})
            return
        await ack()
        if view.get("previous_view_id"):
            await client.views_update(view_id=view["previous_view_id"], view=await settings_modal())
