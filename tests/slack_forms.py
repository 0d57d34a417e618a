"""Fill a modal the way a person in Slack would: what Slack sends back in `view.state`.

`fill(view, answers)` takes the view the app asked Slack to open and returns its
`state.values`: each input keeps its initial value unless `answers[block_id]` says
otherwise (a text, an option value, a list of values or user IDs, a date...).
"""
from __future__ import annotations

from typing import Any

TEXT_ELEMENTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}
SINGLE_CHOICE = {"static_select", "radio_buttons"}
MULTI_CHOICE = {"checkboxes", "multi_static_select"}
# Their options come from the app as the person types: an answer is the option object itself.
EXTERNAL_CHOICE = {"external_select": "selected_option", "multi_external_select": "selected_options"}


def fill(view: dict[str, Any], answers: dict[str, Any] | None = None) -> dict[str, Any]:
    answers = answers or {}
    unknown = set(answers) - {b.get("block_id") for b in view["blocks"]}
    if unknown:
        raise AssertionError(f"the modal has no inputs {sorted(unknown)}")
    state = {}
    for block in view["blocks"]:
        if block["type"] == "input":
            element = block["element"]
            answer = answers.get(block["block_id"], _UNSET)
            state[block["block_id"]] = {element["action_id"]: _element_state(element, answer)}
    return state


class _Unset:
    pass


_UNSET = _Unset()


def _element_state(element: dict[str, Any], answer: Any) -> dict[str, Any]:
    kind = element["type"]
    given = answer is not _UNSET
    if kind in TEXT_ELEMENTS:
        return {"type": kind, "value": (answer if given else element.get("initial_value")) or None}
    if kind in SINGLE_CHOICE:
        chosen = _options(element, [answer]) if given and answer is not None else []
        selected = chosen[0] if chosen else (None if given else element.get("initial_option"))
        return {"type": kind, "selected_option": selected}
    if kind in MULTI_CHOICE:
        return {"type": kind, "selected_options": _options(element, answer) if given else element.get("initial_options", [])}
    if kind in EXTERNAL_CHOICE:
        initial = "initial_option" if kind == "external_select" else "initial_options"
        return {"type": kind, EXTERNAL_CHOICE[kind]: answer if given else element.get(initial)}
    if kind == "file_input":
        return {"type": kind, "files": list(answer) if given else []}
    if kind == "users_select":
        return {"type": kind, "selected_user": answer if given else element.get("initial_user")}
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": answer if given else element.get("initial_conversation")}
    if kind == "rich_text_input":
        return {"type": kind, "rich_text_value": answer if given else element.get("initial_value")}
    if kind == "multi_users_select":
        return {"type": kind, "selected_users": list(answer) if given else element.get("initial_users", [])}
    if kind == "datepicker":
        return {"type": kind, "selected_date": answer if given else element.get("initial_date")}
    if kind == "datetimepicker":
        return {"type": kind, "selected_date_time": answer if given else element.get("initial_date_time")}
    raise AssertionError(f"fill() does not know the element type {kind}")


def _options(element: dict[str, Any], values) -> list[dict[str, Any]]:
    by_value = {o["value"]: o for o in element["options"]}
    missing = [v for v in values if v not in by_value]
    if missing:
        raise AssertionError(f"options {missing} are not offered; offered: {sorted(by_value)}")
    return [by_value[v] for v in values]


async def suggested(user, view: dict[str, Any], block_id: str, typed: str) -> dict[str, Any]:
    """The first option the app offers in the external select of `block_id` while `typed` is
    typed (a signed options request, as Slack sends it): the answer `fill` takes for that menu."""
    reply = await user.suggest("value", typed, block_id=block_id, view={"id": "VFORM", **view})
    options = reply.json["options"]
    assert options, f"nothing offered in {block_id} for {typed!r}"
    return options[0]
