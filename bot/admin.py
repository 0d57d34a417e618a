"""`/crm settings` (admins): numbering masks and custom fields."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp

from bot.blocks import (
    actions, button, context, divider, escape, header, input_block, modal, option, section, text_input,
)
from crm import clock, customfields, fieldtypes, masks, numbering
from crm.errors import DomainError, ValidationError
from crm.permissions import require_admin
from crm.settings import Settings
from models import CustomField

SETTINGS = "settings"
CUSTOMFIELD_NEW = "customfield_new"
CUSTOMFIELD_EDIT = "customfield_edit"
CUSTOMFIELD_REMOVE = "customfield_remove"
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


async def settings_modal(tz: ZoneInfo) -> dict:
    """Masks (with the code each gives next), and the custom fields with their menus."""
    blocks = [header("Numbering masks")]
    for object_type, label in MASK_LABELS.items():
        mask = await numbering.current_mask(object_type)
        example = masks.preview(mask.text, clock.now(), tz)
        blocks.append(input_block(f"mask.{object_type}", label, text_input(mask.text, max_length=64),
                                  optional=False, hint=f"Next period starts at {example}. {MASK_HINT}"))
    for applies_to, label in TARGET_LABELS.items():
        blocks += [divider(), header(f"Custom fields of {label}")]
        fields = await customfields.definitions(applies_to)
        for f in fields:
            flags = ", ".join(flag for flag, on in (("required", f.required), ("unique", f.unique)) if on)
            menu = {"type": "overflow", "action_id": "customfield_menu",
                    "options": [option("Edit", f"edit:{f.id}"), option("Remove…", f"remove:{f.id}")]}
            blocks.append(section(f"*{escape(f.label)}* `{f.key}` · {f.field_type}" + (f" · {flags}" if flags else ""),
                                  accessory=menu))
        if not fields:
            blocks.append(context("None yet."))
        blocks.append(actions(button(f"Add a field to {label}", "customfield_add", applies_to),
                              block_id=f"add.{applies_to}"))
    return modal("CRM settings", blocks, callback_id=SETTINGS)


def customfield_modal(applies_to: str, field: CustomField | None = None) -> dict:
    """The form of a new field, or of `field`, whose key and type can no longer change."""
    flags = {"type": "checkboxes", "options": [option("Required", "required"), option("Unique", "unique")]}
    chosen = [o for o in flags["options"] if field and getattr(field, o["value"])]
    if chosen:
        flags["initial_options"] = chosen
    position = {"type": "number_input", "is_decimal_allowed": False}
    if field:
        position["initial_value"] = str(field.position)
    blocks = [input_block("label", "Label", text_input(field.label if field else "", max_length=60,
                                                       placeholder="Segment"), optional=False)]
    if field:
        blocks.append(context(f"Key `{field.key}` · type {field.field_type} (they cannot change)"))
    else:
        type_options = [option(t, t) for t in fieldtypes.FIELD_TYPES]
        blocks += [
            input_block("key", "Key", text_input(max_length=32, placeholder="segment"), optional=False,
                        hint="Lower case letters, digits and _; used in filters (cf.segment) and exports."),
            input_block("field_type", "Type", {"type": "static_select", "options": type_options}, optional=False),
        ]
    options_text = "\n".join(f"{o['key']}: {o['label']}" for o in field.options) if field else ""
    blocks += [
        input_block("options", "Choices (select and multiselect)",
                    text_input(options_text, multiline=True, max_length=3000),
                    hint="One per line as key: Label, e.g. smb: Small business"),
        input_block("default", "Default value", text_input(field.default or "" if field else "")),
        input_block("flags", "Rules", flags),
        input_block("position", "Position", position, hint="Smaller numbers come first in forms and cards."),
    ]
    if field:
        return modal("Edit field", blocks, callback_id=CUSTOMFIELD_EDIT, private_metadata=str(field.id))
    return modal(f"New field: {TARGET_LABELS[applies_to]}"[:24], blocks, callback_id=CUSTOMFIELD_NEW,
                 private_metadata=applies_to, submit="Add")


def remove_modal(field: CustomField) -> dict:
    text = f"*{escape(field.label)}* and every value stored in it will be deleted. This cannot be undone."
    return modal("Remove field", [section(text)], callback_id=CUSTOMFIELD_REMOVE, submit="Remove",
                 private_metadata=str(field.id), close="Keep")


def parse_options(text: str) -> list[dict]:
    """ "key: Label" lines into option dicts; a line without a colon is its own key and label."""
    parsed = []
    for line in text.splitlines():
        if line.strip():
            key, _, label = line.partition(":")
            parsed.append({"key": key.strip(), "label": (label or key).strip()})
    return parsed


def _value(state: dict, block_id: str, key: str = "value"):
    return state[block_id]["value"].get(key) if block_id in state else None


def definition_input(state: dict) -> dict:
    """What the field form holds, as keyword arguments of customfields.define and redefine."""
    flags = {o["value"] for o in _value(state, "flags", "selected_options") or []}
    position = _value(state, "position")
    return {
        "label": _value(state, "label") or "",
        "options": parse_options(_value(state, "options") or ""),
        "default": _value(state, "default") or None,
        "required": "required" in flags,
        "unique": "unique" in flags,
        "position": int(position) if position not in (None, "") else None,
    }


def register(app: AsyncApp, settings: Settings) -> None:
    async def refresh_settings(client, view_id: str | None) -> None:
        if view_id:
            await client.views_update(view_id=view_id, view=await settings_modal(settings.timezone))

    async def submit_field(ack, view, client, save) -> None:
        """A field form: `save(input)` in the domain, errors beside their input, then the list refreshed."""
        state = view["state"]["values"]
        try:
            await save(definition_input(state))
        except DomainError as error:
            field = getattr(error, "field", "label")
            await ack(response_action="errors", errors={field if field in state else "label": str(error)[:300]})
            return
        await ack()
        await refresh_settings(client, view.get("previous_view_id"))

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

    @app.action("customfield_menu")
    async def field_menu(ack, action, body, client):
        await ack()
        choice, field_id = action["selected_option"]["value"].split(":")
        field = await customfields.get(int(field_id))
        view = customfield_modal(field.applies_to, field) if choice == "edit" else remove_modal(field)
        await client.views_push(trigger_id=body["trigger_id"], view=view)

    @app.view(CUSTOMFIELD_NEW)
    async def define_field(ack, view, context, client):
        state = view["state"]["values"]
        key = (_value(state, "key") or "").strip()
        field_type = (_value(state, "field_type", "selected_option") or {}).get("value", "")

        async def save(given: dict) -> None:
            await customfields.define(context["actor"], view["private_metadata"], key=key, field_type=field_type,
                                      **given)

        await submit_field(ack, view, client, save)

    @app.view(CUSTOMFIELD_EDIT)
    async def redefine_field(ack, view, context, client):
        async def save(given: dict) -> None:
            await customfields.redefine(context["actor"], int(view["private_metadata"]), **given)

        await submit_field(ack, view, client, save)

    @app.view(CUSTOMFIELD_REMOVE)
    async def remove_field(ack, view, context, client):
        await customfields.remove(context["actor"], int(view["private_metadata"]))
        await ack()
        await refresh_settings(client, view.get("previous_view_id"))
