"""Options of external selects: countries and languages named in the person's language, and the
choices of a custom field with more options than a static select holds (100), filtered by what
the person types."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import forms
from bot.field_inputs import ACTION_ID, MAX_OPTIONS, option_object
from bot.surface import Interaction, Surface, options
from crm import customfields
from crm.normalize import fold

FORM_TARGETS = {forms.THIRDPARTY_NEW: "thirdparty", forms.THIRDPARTY_EDIT: "thirdparty",
                forms.CONTACT_NEW: "contact", forms.CONTACT_EDIT: "contact"}


def register(app: AsyncApp, surface: Surface) -> None:
    async def form_options(it: Interaction) -> list[dict]:
        """A country or language menu, else a custom field's options."""
        block_id = str(it.body.get("block_id", ""))
        if block_id in forms.MENUS:
            return forms.menu_options(block_id, it.body.get("value") or "", it.reader)
        return await custom_field_options(it)

    async def custom_field_options(it: Interaction) -> list[dict]:
        applies_to = FORM_TARGETS.get((it.body.get("view") or {}).get("callback_id", ""))
        block_id = str(it.body.get("block_id", ""))
        key = block_id.removeprefix("cf.") if block_id.startswith("cf.") else ""
        definition = next((f for f in await customfields.definitions(applies_to) if f.key == key),
                          None) if applies_to else None
        if definition is None:
            return []
        return [option_object(o) for o in matching(definition.options, it.body.get("value") or "")]

    # every input's action_id is "value"; the block says which custom field asks
    app.options(ACTION_ID)(options(surface, form_options))


def matching(choices: list[dict], typed: str) -> list[dict]:
    """The options whose label or key holds every folded word typed, labels starting with them first."""
    words = fold(typed).split()
    found = [o for o in choices if all(w in fold(f"{o['label']} {o['key']}") for w in words)]
    found.sort(key=lambda o: not fold(o["label"]).startswith(" ".join(words)))
    return found[:MAX_OPTIONS]
