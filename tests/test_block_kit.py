"""Block Kit validation (tests/block_kit.py): valid payloads pass, and each of Slack's limits is caught.

Every limit is shown by one edit of a payload that is valid as a whole, so a case fails
when the check it names stops working (or reports the problem at another place).
"""

import re
from typing import Any

import pytest

from tests.block_kit import assert_valid_message, assert_valid_view, message_problems, view_problems

pytestmark = pytest.mark.database_free

DELETE = object()  # an edit that removes the key


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def option(text: str, value: str, **more: Any) -> dict:
    return {"text": plain(text), "value": value, **more}


def entry(kind: str, **element: Any) -> dict:
    return {"type": "input", "label": plain(kind), "element": {"type": kind, "action_id": "v", **element}}


def confirm() -> dict:
    return {"title": plain("Sure?"), "text": mrkdwn("*Really*"), "confirm": plain("Yes"), "deny": plain("No")}


def ab() -> list[dict]:
    return [option("A", "a", description=plain("first")), option("B", "b")]


def blocks() -> dict[str, dict]:
    """One valid block of each kind the checks look into, by name (which is its block_id)."""
    built = {
        "header": {"type": "header", "text": plain("Acme")},
        "section": {
            "type": "section",
            "text": mrkdwn("*Acme*"),
            "accessory": {
                "type": "button", "text": plain("Open"), "action_id": "open", "value": "1", "confirm": confirm()
            },
        },
        "fields": {"type": "section", "fields": [mrkdwn("*Code*\nC1"), plain("Owner")]},
        "context": {"type": "context", "elements": [mrkdwn("by alice"), plain("today")]},
        "actions": {
            "type": "actions",
            "elements": [
                {"type": "button", "text": plain("Edit"), "action_id": "edit", "url": "https://example.com"},
                {"type": "overflow", "action_id": "more", "options": ab()},
                {"type": "static_select", "action_id": "pick", "placeholder": plain("Pick"), "options": ab(),
                 "initial_option": option("B", "b")},
            ],
        },
        "text": {
            **entry("plain_text_input", max_length=10, min_length=1, initial_value="hello", placeholder=plain("Name")),
            "hint": plain("Hi"),
        },
        "number": entry("number_input", is_decimal_allowed=False, initial_value="42", min_value="0", max_value="99"),
        "decimal": entry("number_input", is_decimal_allowed=True, initial_value="4.2"),
        "email": entry("email_text_input", initial_value="a@example.com"),
        "url": entry("url_text_input", initial_value="https://example.com"),
        "checkboxes": entry("checkboxes", options=[{"text": mrkdwn("*Yes*"), "value": "yes"}],
                            initial_options=[{"text": mrkdwn("*Yes*"), "value": "yes"}]),
        "radio": entry("radio_buttons", options=ab(), initial_option=ab()[0]),
        "multi": entry("multi_static_select", option_groups=[{"label": plain("Letters"), "options": ab()}],
                       initial_options=[ab()[0]]),
        "external": entry("external_select", initial_option=option("Anything", "any")),
        "users": entry("multi_users_select", initial_users=["U0ALICE", "U0BOB"]),
        "date": entry("datepicker", initial_date="2024-02-29"),
        "datetime": entry("datetimepicker", initial_date_time=1628633820),
        "divider": {"type": "divider"},
    }
    return {name: {**block, "block_id": name} for name, block in built.items()}


NAMES = list(blocks())


def at(name: str) -> str:
    return f"blocks[{NAMES.index(name)}]"


def modal() -> dict:
    return {
        "type": "modal",
        "callback_id": "edit",
        "title": plain("Edit Acme"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "private_metadata": "42",
        "blocks": list(blocks().values()),
    }


MESSAGE_BLOCKS = ("header", "section", "fields", "context", "actions", "divider")


def message() -> dict:
    return {"channel": "C1", "text": "Acme", "blocks": [blocks()[name] for name in MESSAGE_BLOCKS]}


def edited(payload: dict, path: str, value: Any) -> dict:
    """`payload` with the value at `path` (`blocks[4].elements[1].options`) replaced.

    `value` may be DELETE, or a function of the current value.
    """
    keys = [int(index) if index else name for name, index in re.findall(r"(\w+)|\[(\d+)\]", path)]
    parent = payload
    for key in keys[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[keys[-1]]
    else:
        parent[keys[-1]] = value(parent[keys[-1]]) if callable(value) else value
    return payload


def long(length: int) -> str:
    return "x" * length


def times(count: int):
    """An edit making a list of `count` copies of its first item."""
    return lambda items: [items[0]] * count


def without_max_length(initial_value: str):
    """An edit of a plain_text_input: no max_length, this initial_value."""
    return lambda element: {**{k: v for k, v in element.items() if k != "max_length"}, "initial_value": initial_value}


# -- valid payloads pass ---------------------------------------------------------


def test_a_modal_using_every_checked_element_is_valid():
    assert view_problems(modal(), surface="modal") == []
    assert_valid_view(modal())


def test_a_message_and_a_home_tab_are_valid():
    home = {"type": "home", "blocks": message()["blocks"]}

    assert message_problems(message()) == []
    assert view_problems(home, surface="home") == []
    assert_valid_message({"text": "Saved", "response_type": "ephemeral", "replace_original": False})
    assert_valid_message({"delete_original": True})


def test_assertions_list_the_problems():
    with pytest.raises(AssertionError, match=r"title: required"):
        assert_valid_view(edited(modal(), "title", DELETE))
    with pytest.raises(AssertionError, match=r"message: needs text or blocks"):
        assert_valid_message({"channel": "C1"})


# -- each limit is caught ---------------------------------------------------------

VIEW_CASES = [
    # the view
    ("type", "workflow_step", "type: must be modal or home here"),
    ("type", "dialog", 'view: type must be either "modal", "home" or "workflow_step"'),
    ("title", DELETE, "title: required"),
    ("title.text", long(25), "view: title must be between 1 and 24 characters"),
    ("title", mrkdwn("Edit"), "title.type: must be plain_text here"),
    ("submit.text", long(25), "view: submit cannot exceed 24 characters"),
    ("submit", mrkdwn("Save"), "submit.type: must be plain_text here"),
    ("close.text", long(25), "view: close cannot exceed 24 characters"),
    ("close.text", "", "close.text: must not be empty"),
    ("submit", DELETE, "submit: a modal holding input blocks needs a submit button"),
    ("private_metadata", long(3001), "view: private_metadata cannot exceed 3000 characters"),
    ("callback_id", long(256), "view: callback_id cannot exceed 255 characters"),
    ("blocks", times(101), "view: views must contain between 1 and 100 blocks"),
    ("blocks", [], "view: views must contain between 1 and 100 blocks"),
    # blocks and their ids
    ("blocks[0].type", "carousel_of_doom", "blocks[0]: unknown type 'carousel_of_doom'"),
    (f"{at('divider')}.block_id", long(256), f"{at('divider')}: block_id cannot exceed 255 characters"),
    (f"{at('date')}.block_id", "text", "blocks: block_id 'text' is used 2 times; it must be unique"),
    (f"{at('actions')}.elements[1].action_id", "edit", f"{at('actions')}: action_id 'edit' is used 2 times"),
    (f"{at('section')}.accessory.action_id", long(256), "accessory: action_id attribute cannot exceed 255"),
    # section, header, context, actions
    (f"{at('section')}.text.text", long(3001), f"{at('section')}: text attribute cannot exceed 3000 characters"),
    (f"{at('fields')}.fields", times(11), f"{at('fields')}: fields attribute cannot exceed 10 items"),
    (f"{at('fields')}.fields[0].text", long(2001), f"{at('fields')}.fields[0].text: 2001 characters, more than"),
    (f"{at('fields')}.fields", [], f"{at('fields')}.fields: must be a non-empty list"),
    ("blocks[0].text.text", long(151), "blocks[0]: text attribute cannot exceed 150 characters"),
    ("blocks[0].text", mrkdwn("Acme"), "blocks[0].text.type: must be plain_text here, not mrkdwn"),
    (f"{at('context')}.elements", times(11), f"{at('context')}: elements attribute cannot exceed 10 elements"),
    (f"{at('context')}.elements[0]", {"type": "button", "text": plain("No")}, "context blocks cannot hold a button"),
    (f"{at('actions')}.elements", times(26), f"{at('actions')}: elements attribute cannot exceed 25 elements"),
    (f"{at('actions')}.elements[0]", plain("Edit"), "elements[0]: actions blocks cannot hold a plain_text element"),
    # text objects
    (f"{at('section')}.text.type", "markdown", f"{at('section')}.text.type: must be plain_text or mrkdwn"),
    (f"{at('section')}.text.text", "", f"{at('section')}.text.text: must not be empty"),
    (f"{at('section')}.text", "*Acme*", f"{at('section')}.text: must be a text object"),
    # input blocks
    (f"{at('text')}.label.text", long(2001), f"{at('text')}: label attribute cannot exceed 2000 characters"),
    (f"{at('text')}.hint.text", long(2001), f"{at('text')}: hint attribute cannot exceed 2000 characters"),
    (f"{at('text')}.label", mrkdwn("Name"), f"{at('text')}.label.type: must be plain_text here"),
    (f"{at('text')}.hint", mrkdwn("Hi"), f"{at('text')}.hint.type: must be plain_text here"),
    (f"{at('text')}.element.placeholder", mrkdwn("Name"), f"{at('text')}.element.placeholder.type: must be plain"),
    (f"{at('text')}.element.placeholder.text", long(151), "element: placeholder attribute cannot exceed 150"),
    (f"{at('text')}.element", DELETE, f"{at('text')}: missing 1 required keyword-only argument: 'element'"),
    (f"{at('text')}.element.type", "button", f"{at('text')}.element: input blocks cannot hold a button element"),
    (f"{at('text')}.element.type", "slider", f"{at('text')}.element: unknown type 'slider'"),
    # buttons and confirmation dialogs
    (f"{at('section')}.accessory.text.text", long(76), "accessory: text attribute cannot exceed 75 characters"),
    (f"{at('section')}.accessory.text", mrkdwn("Open"), "accessory.text.type: must be plain_text here"),
    (f"{at('section')}.accessory.value", long(2001), "accessory: value attribute cannot exceed 2000 characters"),
    (f"{at('actions')}.elements[0].url", long(3001), "elements[0]: url attribute cannot exceed 3000 characters"),
    (f"{at('section')}.accessory.confirm.title.text", long(101), "confirm: title attribute cannot exceed 100"),
    (f"{at('section')}.accessory.confirm.title", mrkdwn("Sure?"), "confirm.title.type: must be plain_text here"),
    (f"{at('section')}.accessory.confirm.text.text", long(301), "confirm: text attribute cannot exceed 300"),
    (f"{at('section')}.accessory.confirm.confirm.text", long(31), "confirm: confirm attribute cannot exceed 30"),
    (f"{at('section')}.accessory.confirm.deny.text", long(31), "confirm: deny attribute cannot exceed 30"),
    (f"{at('section')}.accessory.confirm.deny", DELETE, "accessory.confirm.deny: required"),
    # options
    (f"{at('actions')}.elements[2].options[0].text.text", long(76), "options[0]: text attribute cannot exceed 75"),
    (f"{at('actions')}.elements[2].options[0].value", long(151), "options[0]: value attribute cannot exceed 150"),
    (
        f"{at('actions')}.elements[2].options[0].description",
        plain(long(76)),
        "options[0].description.text: 76 characters, more than the 75 allowed",
    ),
    (f"{at('actions')}.elements[2].options[0].text", mrkdwn("A"), "options[0].text.type: must be plain_text here"),
    (f"{at('actions')}.elements[2].options[0].text", DELETE, "options[0].text: required"),
    (f"{at('actions')}.elements[2].options", times(101), "elements[2]: options attribute cannot exceed 100"),
    (f"{at('checkboxes')}.element.options", times(11), "element.options: 11 items, more than 10"),
    (f"{at('radio')}.element.options", times(11), "element.options: 11 items, more than 10"),
    (f"{at('actions')}.elements[1].options", times(1), "elements[1].options: 1 items, fewer than 2"),
    (f"{at('actions')}.elements[1].options", times(6), "elements[1]: options attribute must have between 1 and 5"),
    (f"{at('actions')}.elements[1].options", [], "elements[1].options: must be a non-empty list"),
    (f"{at('multi')}.element.option_groups[0].label", mrkdwn("L"), "option_groups[0].label.type: must be plain"),
    # initial options
    (f"{at('actions')}.elements[2].initial_option", option("C", "c"), "initial_option: must be one of the options"),
    (f"{at('actions')}.elements[2].initial_option.text.text", "b", "initial_option: must be one of the options"),
    (f"{at('radio')}.element.initial_option.value", "z", "element.initial_option: must be one of the options"),
    (f"{at('checkboxes')}.element.initial_options[0].value", "no", "initial_options[0]: must be one of the options"),
    (f"{at('multi')}.element.initial_options[0]", option("Z", "z"), "initial_options[0]: must be one of the options"),
    (f"{at('multi')}.element.initial_options", [], "element.initial_options: must be a non-empty list"),
    (f"{at('external')}.element.initial_option.text.text", long(76), "initial_option: text attribute cannot exceed"),
    # plain_text_input
    (f"{at('text')}.element.max_length", 0, "element.max_length: must be an integer from 1 to 3000, not 0"),
    (f"{at('text')}.element.max_length", 3001, "element.max_length: must be an integer from 1 to 3000, not 3001"),
    (f"{at('text')}.element.max_length", "10", "element.max_length: must be an integer from 1 to 3000, not '10'"),
    (f"{at('text')}.element.min_length", -1, "element.min_length: must be an integer from 0 to 3000, not -1"),
    (f"{at('text')}.element.min_length", 3001, "element.min_length: must be an integer from 0 to 3000, not 3001"),
    (f"{at('text')}.element.min_length", 11, "element.min_length: 11 is more than max_length 10"),
    (f"{at('text')}.element.initial_value", long(11), "element.initial_value: 11 characters, more than the 10"),
    (f"{at('text')}.element.initial_value", 42, "element.initial_value: must be a string, not int"),
    (f"{at('text')}.element", without_max_length(long(3001)), "initial_value: 3001 characters, more than the 3000"),
    # other inputs' initial values
    (f"{at('email')}.element.initial_value", 42, f"{at('email')}.element.initial_value: must be a string, not int"),
    (f"{at('url')}.element.initial_value", None, f"{at('url')}.element.initial_value: must be a string"),
    (f"{at('number')}.element.initial_value", 42, f"{at('number')}.element.initial_value: must be a string"),
    (f"{at('number')}.element.initial_value", "4.2", f"{at('number')}.element.initial_value: '4.2' is not an integer"),
    (f"{at('number')}.element.max_value", "lots", f"{at('number')}.element.max_value: 'lots' is not an integer"),
    (f"{at('decimal')}.element.initial_value", "4,2", f"{at('decimal')}.element.initial_value: '4,2' is not a number"),
    (f"{at('number')}.element.is_decimal_allowed", DELETE, "element.is_decimal_allowed: required, true or false"),
    (f"{at('users')}.element.initial_users", [42], f"{at('users')}.element.initial_users: must hold ids"),
    (f"{at('users')}.element.initial_users", "U0ALICE", f"{at('users')}.element.initial_users: must be a non-empty"),
    (f"{at('users')}.element.initial_users", [], f"{at('users')}.element.initial_users: must be a non-empty list"),
    (f"{at('date')}.element.initial_date", "2024-02-30", f"{at('date')}.element.initial_date: must be a date"),
    (f"{at('date')}.element.initial_date", "29/02/2024", f"{at('date')}.element.initial_date: must be a date"),
    (f"{at('date')}.element.initial_date", "2024-02-291", f"{at('date')}.element.initial_date: must be a date"),
    (f"{at('datetime')}.element.initial_date_time", "1628633820", f"{at('datetime')}.element.initial_date_time"),
]


@pytest.mark.parametrize(("path", "value", "expected"), VIEW_CASES, ids=[case[2] for case in VIEW_CASES])
def test_each_view_limit_is_caught_where_it_is_broken(path, value, expected):
    problems = view_problems(edited(modal(), path, value))

    assert any(expected in problem for problem in problems), problems


MESSAGE_CASES = [
    ("blocks", lambda b: b * 9, "blocks: 54 items, more than 50"),
    ("text", long(40_001), "text: 40001 characters, more than the 40000 allowed"),
    ("text", 42, "text: must be a string, not int"),
    ("blocks", "[]", "blocks: must be a list of blocks"),
    ("blocks[1].text.text", long(3001), "blocks[1]: text attribute cannot exceed 3000 characters"),
    ("response_type", "everyone", "response_type: must be in_channel or ephemeral, not 'everyone'"),
]


@pytest.mark.parametrize(("path", "value", "expected"), MESSAGE_CASES, ids=[case[2] for case in MESSAGE_CASES])
def test_each_message_limit_is_caught(path, value, expected):
    problems = message_problems(edited(message(), path, value))

    assert any(expected in problem for problem in problems), problems


def test_a_message_needs_text_or_blocks_unless_it_deletes_the_original():
    assert message_problems({"channel": "C1", "text": ""}) == ["message: needs text or blocks"]
    assert message_problems({"text": "", "blocks": []}) == ["message: needs text or blocks"]
    assert message_problems({"blocks": [{"type": "divider"}]}) == []
    assert message_problems({"delete_original": True}) == []


def test_block_ids_are_unique_in_a_message_too():
    payload = message()
    payload["blocks"][0]["block_id"] = payload["blocks"][1]["block_id"] = "same"

    assert message_problems(payload) == ["blocks: block_id 'same' is used 2 times; it must be unique"]


def test_home_tabs_take_100_blocks_and_no_buttons():
    home = {"type": "home", "blocks": [{"type": "divider"}] * 100}
    assert view_problems(home, surface="home") == []

    assert "view: views must contain between 1 and 100 blocks" in view_problems({**home, "blocks": home["blocks"] * 2})
    assert "view: home view cannot have submit and close" in view_problems({**home, "submit": plain("Save")})
    assert "type: must be home here, not 'modal'" in view_problems(modal(), surface="home")


def test_not_an_object_at_all():
    assert view_problems(None) == ["view: must be a view object, not NoneType"]
    assert message_problems([]) == ["message: must be an object, not list"]
