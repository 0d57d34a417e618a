"""`/crm settings` (admins): company details for documents, numbering masks, custom fields and
email templates."""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import aiohttp
from babel import Locale

from slack_bolt.async_app import AsyncApp

from bot.blocks import (
    actions, button, context, divider, header, input_block, modal, option, plain_section, text_input,
)
from bot import forms, mail_views
from bot.forms import form_state, read_form_state
from bot.payloads import Stale, action, form_values, record_id, selected_value
from bot.surface import Interaction, Surface, acked, submission
from crm import company, customfields, fieldtypes, masks, numbering
from crm.context import Context
from crm.customfields import FieldDefinition
from crm.documents.printable import Company
from crm.errors import ValidationError
from crm.mail import templates
from crm.permissions import require_admin

SETTINGS = "settings"
CUSTOMFIELD_NEW = "customfield_new"
CUSTOMFIELD_EDIT = "customfield_edit"
CUSTOMFIELD_REMOVE = "customfield_remove"
COMPANY = "company"
# Where Slack keeps uploaded files; the Web API's own host too (proxies, GovSlack, tests).
SLACK_FILE_HOSTS = ("files.slack.com",)
TARGET_LABELS = {"thirdparty": "third parties", "contact": "contacts"}
MASK_HINT = ("{yyyy} {yy} {mm} {dd} date parts, {t} P/C/B, one counter {00000}; {00000+100} starts at 100, "
             "{00000@1} resets every year, {00000@0} every month.")
# Field-form blocks that show a definition's parts under another name.
FIELD_FORM_BLOCKS = {"required": "flags", "unique": "flags", "applies_to": "label"}


async def settings_modal(ctx: Context) -> dict:
    """Masks (with the code each gives next), and the custom fields with their menus."""
    current = await numbering.masks(ctx)
    ours = await company.details(ctx)
    summary = " · ".join(p for p in (ours.name, ours.town, ours.vat_id) if p) or "Not set yet."
    blocks = [header("Company details"), plain_section(f"{summary}" + ("\nWith a logo." if ours.logo_path else ""),
                                                       accessory=button("Edit", "company_edit")),
              context("Printed on proposals, orders, interventions and invoices."),
              divider(), header("Numbering masks")]
    for object_type, mask in current.items():
        example = masks.preview(mask.text, ctx.now(), ctx.timezone)
        blocks.append(input_block(numbering.field_name(object_type), numbering.MASK_LABELS[object_type],
                                  text_input(mask.text, max_length=64), optional=False,
                                  hint=f"Next period starts at {example}. {MASK_HINT}"))
    for applies_to, label in TARGET_LABELS.items():
        blocks += [divider(), header(f"Custom fields of {label}")]
        fields = await customfields.definitions(applies_to)
        for f in fields:
            flags = ", ".join(flag for flag, on in (("required", f.required), ("unique", f.unique)) if on)
            menu = {"type": "overflow", "action_id": "customfield_menu",
                    "options": [option("Edit", f"edit:{f.id}"), option("Remove…", f"remove:{f.id}")]}
            blocks.append(plain_section(f"{f.label} · {f.key} · {f.field_type}" + (f" · {flags}" if flags else ""),
                                        accessory=menu))
        if not fields:
            blocks.append(context("None yet."))
        blocks.append(actions(button(f"Add a field to {label}", "customfield_add", applies_to),
                              block_id=f"add.{applies_to}"))
    blocks += mail_views.templates_section(await templates.all_templates(ctx))
    return modal("CRM settings", blocks, callback_id=SETTINGS,
                 private_metadata=form_state(numbering.mask_versions(current)))


def customfield_modal(applies_to: str, field: FieldDefinition | None = None) -> dict:
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
        return modal("Edit field", blocks, callback_id=CUSTOMFIELD_EDIT,
                     private_metadata=form_state(customfields.definition_versions(field), record=field.id))
    return modal(f"New field: {TARGET_LABELS[applies_to]}"[:24], blocks, callback_id=CUSTOMFIELD_NEW,
                 private_metadata=applies_to, submit="Add")


def company_modal(ours: Company, reader: Locale) -> dict:
    blocks = [forms.menu_field(name, label, getattr(ours, name), reader) if name in forms.MENUS else
              input_block(name, label, text_input(getattr(ours, name), multiline=name == "address",
                                                  max_length=company.TEXT_LIMITS.get(name, 255)),
                          optional=name != "name")
              for name, label in company.FIELDS.items()]
    blocks.append(input_block("logo", "Logo", {"type": "file_input", "filetypes": ["png", "jpg", "jpeg"],
                                               "max_files": 1},
                              hint="A PNG or JPEG; leave empty to keep the current one."))
    return modal("Company details", blocks, callback_id=COMPANY)


def remove_modal(field: FieldDefinition) -> dict:
    text = f"{field.label} and every value stored in it will be deleted. This cannot be undone."
    return modal("Remove field", [plain_section(text)], callback_id=CUSTOMFIELD_REMOVE, submit="Remove",
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
    return (state.get(block_id) or {}).get("value", {}).get(key)


def definition_input(state: dict) -> dict:
    """What the field form holds, as keyword arguments of customfields.define and redefine."""
    flags = {o["value"] for o in _value(state, "flags", "selected_options") or []}
    position = _value(state, "position")
    try:
        position = int(position) if position not in (None, "") else None
    except ValueError:
        raise Stale(str(position)[:40]) from None
    return {
        "label": _value(state, "label") or "",
        "options": parse_options(_value(state, "options") or ""),
        "default": _value(state, "default") or None,
        "required": "required" in flags,
        "unique": "unique" in flags,
        "position": position,
    }


def refresh_settings(it: Interaction):
    """After a form pushed over the settings (a field, a template): the settings form beneath
    it, shown again with the change."""
    async def refresh() -> None:
        view_id = it.body["view"].get("previous_view_id")
        if view_id:
            await it.client.views_update(view_id=view_id, view=await settings_modal(it.ctx))
    return refresh


def register(app: AsyncApp, surface: Surface) -> None:
    async def save_settings(it: Interaction):
        form = read_form_state(it.body["view"].get("private_metadata", ""), of_record=False)
        state = form_values(it.body)
        texts = {object_type: _value(state, numbering.field_name(object_type)) or ""
                 for object_type in numbering.MASK_LABELS if numbering.field_name(object_type) in state}
        await numbering.set_masks(it.ctx, texts, form.shown)
        return {}, None

    app.view(SETTINGS)(submission(surface, save_settings))

    async def edit_company(it: Interaction) -> None:
        async def build() -> dict:
            require_admin(it.ctx.actor, "change the company details")
            return company_modal(await company.details(it.ctx), it.reader)
        await it.open_form(build, push=True)

    async def save_company(it: Interaction):
        state = form_values(it.body)
        values = {name: forms.chosen(state[name]["value"]) if name in forms.MENUS else _value(state, name) or ""
                  for name in company.FIELDS if name in state}
        files = _value(state, "logo", "files") or []
        logo = await _download(it, files[0]) if files else None
        await company.update(it.ctx, values, logo=logo)
        return {}, refresh_settings(it)

    app.action("company_edit")(acked(surface, edit_company))
    app.view(COMPANY)(submission(surface, save_company))

    async def add_field(it: Interaction) -> None:
        applies_to = action(it.body).get("value")
        if applies_to not in TARGET_LABELS:
            raise Stale(str(applies_to)[:40])
        await it.open_form(lambda: _admin_form(it, customfield_modal(applies_to)), push=True)

    async def field_menu(it: Interaction) -> None:
        choice, _, field_id = selected_value(it.body).partition(":")
        if choice not in ("edit", "remove"):
            raise Stale(choice[:40])

        async def build() -> dict:
            field = await customfields.get(record_id(field_id))
            return await _admin_form(it, customfield_modal(field.applies_to, field) if choice == "edit" else remove_modal(field))

        await it.open_form(build, push=True)

    app.action("customfield_add")(acked(surface, add_field))
    app.action("customfield_menu")(acked(surface, field_menu))

    async def define_field(it: Interaction):
        state = form_values(it.body)
        field_type = (_value(state, "field_type", "selected_option") or {}).get("value", "")
        await customfields.define(it.ctx, it.body["view"].get("private_metadata", ""),
                                  key=(_value(state, "key") or "").strip(), field_type=field_type,
                                  **definition_input(state))
        return {}, refresh_settings(it)

    async def redefine_field(it: Interaction):
        form = read_form_state(it.body["view"].get("private_metadata", ""))
        await customfields.redefine(it.ctx, form.record_id, shown=form.shown, **definition_input(form_values(it.body)))
        return {}, refresh_settings(it)

    async def remove_field(it: Interaction):
        await customfields.remove(it.ctx, record_id(it.body["view"].get("private_metadata", "")))
        return {}, refresh_settings(it)

    app.view(CUSTOMFIELD_NEW)(submission(surface, define_field, FIELD_FORM_BLOCKS))
    app.view(CUSTOMFIELD_EDIT)(submission(surface, redefine_field, FIELD_FORM_BLOCKS))
    app.view(CUSTOMFIELD_REMOVE)(submission(surface, remove_field))


async def _download(it: Interaction, file: dict) -> bytes:
    """A file someone uploaded in a form, fetched from Slack with the bot's token (and only from Slack)."""
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    where = urlsplit(url)
    if not (where.scheme == "https" and where.netloc in SLACK_FILE_HOSTS
            or where.netloc == urlsplit(it.settings.slack_api_url).netloc):
        raise ValidationError("logo", "Logo: Slack did not say where the file is; upload it again.")
    limit = it.settings.file_max_mb * 1024 * 1024
    headers = {"Authorization": f"Bearer {it.settings.slack_bot_token}"}
    try:
        async with aiohttp.ClientSession() as session, session.get(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=20)) as response:
            status = response.status
            data = await response.content.read(limit + 1) if status == 200 else b""
    except (aiohttp.ClientError, asyncio.TimeoutError):
        status = None
    if status != 200:
        raise ValidationError("logo", "Logo: Slack did not give the file just now; upload it again.")
    if len(data) > limit:
        raise ValidationError("logo", f"Logo: the file is larger than {it.settings.file_max_mb} MB (CRM_FILE_MAX_MB).")
    return data


async def _admin_form(it: Interaction, view: dict) -> dict:
    """Field forms are for admins: anyone else is told so instead."""
    require_admin(it.ctx.actor, "change custom fields")
    return view
