"""Block Kit inputs for custom fields: elements, initial values, and the value back from Slack's state."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from bot.field_inputs import input_block, shows, submitted_value
from crm.errors import ValidationError
from crm.fieldtypes import CHOICE_TYPES, FIELD_TYPES, FieldSpec, parse

pytestmark = pytest.mark.database_free

OPTIONS = [
    {"key": "smb", "label": "Small business"},
    {"key": "mid", "label": "Mid-market"},
    {"key": "ent", "label": "Enterprise"},
]
MOMENT = datetime(2026, 11, 28, 13, 5, tzinfo=timezone.utc)
CHECKBOX = {"text": {"type": "plain_text", "text": "Probe"}, "value": "true"}
# Element type -> (its initial attribute, the state attribute Slack sends, that attribute when nothing is set).
SLACK_ECHO = {
    "plain_text_input": ("initial_value", "value", None),
    "number_input": ("initial_value", "value", None),
    "email_text_input": ("initial_value", "value", None),
    "url_text_input": ("initial_value", "value", None),
    "datepicker": ("initial_date", "selected_date", None),
    "datetimepicker": ("initial_date_time", "selected_date_time", None),
    "checkboxes": ("initial_options", "selected_options", []),
    "static_select": ("initial_option", "selected_option", None),
    "multi_static_select": ("initial_options", "selected_options", []),
}
SAMPLE_VALUES = {
    "string": "Acme",
    "text": "first line\nsecond line",
    "integer": -1234,
    "amount": Decimal("1234.50"),
    "date": date(2026, 11, 28),
    "datetime": MOMENT,
    "boolean": True,
    "select": "mid",
    "multiselect": ["smb", "ent"],
    "email": "jane@example.com",
    "phone": "+33123456789",
    "url": "https://acme.com",
}


def probe(field_type: str, **overrides) -> FieldSpec:
    options = OPTIONS if field_type in CHOICE_TYPES else []
    return FieldSpec(key="probe", label="Probe", field_type=field_type, options=options, **overrides)


def state_slack_sends(element: dict) -> dict:
    """The element's state when the user submits without touching it: its initial value, echoed."""
    initial, attribute, unset = SLACK_ECHO[element["type"]]
    return {"type": element["type"], attribute: element.get(initial, unset)}


@pytest.mark.parametrize("field_type, element", [
    ("string", {"type": "plain_text_input", "max_length": 255, "initial_value": "Acme"}),
    ("text", {"type": "plain_text_input", "multiline": True, "max_length": 3000,
              "initial_value": "first line\nsecond line"}),
    ("integer", {"type": "number_input", "is_decimal_allowed": False, "initial_value": "-1234"}),
    ("amount", {"type": "number_input", "is_decimal_allowed": True, "initial_value": "1234.50"}),
    ("date", {"type": "datepicker", "initial_date": "2026-11-28"}),
    ("datetime", {"type": "datetimepicker", "initial_date_time": 1795871100}),
    ("boolean", {"type": "checkboxes", "options": [CHECKBOX], "initial_options": [CHECKBOX]}),
    ("select", {"type": "static_select", "initial_option": {
        "text": {"type": "plain_text", "text": "Mid-market"}, "value": "mid"}}),
    ("multiselect", {"type": "multi_static_select", "initial_options": [
        {"text": {"type": "plain_text", "text": "Small business"}, "value": "smb"},
        {"text": {"type": "plain_text", "text": "Enterprise"}, "value": "ent"}]}),
    ("email", {"type": "email_text_input", "initial_value": "jane@example.com"}),
    ("phone", {"type": "plain_text_input", "max_length": 255, "initial_value": "+33123456789"}),
    ("url", {"type": "url_text_input", "initial_value": "https://acme.com"}),
])
def test_element_and_initial_value(field_type, element):
    block = input_block(probe(field_type), SAMPLE_VALUES[field_type])
    assert block["element"] | element == block["element"]  # every expected attribute is there
    assert block["element"]["action_id"] == "value"
    assert (block["type"], block["block_id"], block["label"]) == ("input", "cf.probe", {"type": "plain_text", "text": "Probe"})


@pytest.mark.parametrize("field_type", ["select", "multiselect"])
def test_choice_elements_offer_every_option(field_type):
    offered = input_block(probe(field_type))["element"]["options"]
    assert offered == [{"text": {"type": "plain_text", "text": o["label"]}, "value": o["key"]} for o in OPTIONS]


@pytest.mark.parametrize("field_type", FIELD_TYPES)
@pytest.mark.parametrize("present", [True, False])
def test_round_trip_through_slack(field_type, present):
    """value -> initial value -> the state Slack sends back -> submitted_value -> parse == value."""
    definition = probe(field_type)
    value = SAMPLE_VALUES[field_type] if present else None
    element = input_block(definition, value)["element"]
    restored = parse(definition, submitted_value(definition, state_slack_sends(element)))
    # an unticked box is No: a yes/no field has no "empty" in Slack
    assert restored == (False if field_type == "boolean" and not present else value)


@pytest.mark.parametrize("field_type, value", [("boolean", False), ("amount", Decimal("-0.000001")), ("select", "ent")])
def test_round_trip_of_edge_values(field_type, value):
    definition = probe(field_type)
    element = input_block(definition, value)["element"]
    assert parse(definition, submitted_value(definition, state_slack_sends(element))) == value


@pytest.mark.parametrize("field_type, state, raw", [
    ("string", {"type": "plain_text_input", "value": "x"}, "x"),
    ("amount", {"type": "number_input", "value": "12.5"}, "12.5"),
    ("date", {"type": "datepicker", "selected_date": "2026-11-28"}, "2026-11-28"),
    ("datetime", {"type": "datetimepicker", "selected_date_time": 1764336000},
     datetime(2025, 11, 28, 13, 20, tzinfo=timezone.utc)),
    ("boolean", {"type": "checkboxes", "selected_options": [CHECKBOX]}, True),
    ("boolean", {"type": "checkboxes", "selected_options": []}, False),
    ("select", {"type": "static_select", "selected_option": {"value": "smb", "text": {}}}, "smb"),
    ("select", {"type": "static_select", "selected_option": None}, None),
    ("multiselect", {"type": "multi_static_select", "selected_options": [{"value": "ent"}, {"value": "smb"}]},
     ["ent", "smb"]),
    ("email", {"type": "email_text_input", "value": None}, None),
    ("url", {"type": "url_text_input", "value": "acme.com"}, "acme.com"),
])
def test_submitted_value_reads_slack_state(field_type, state, raw):
    assert submitted_value(probe(field_type), state) == raw


def test_submitted_value_refuses_an_element_of_another_type():
    with pytest.raises(ValidationError) as caught:
        submitted_value(probe("date"), {"type": "plain_text_input", "value": "2026-11-28"})
    assert caught.value.field == "cf.probe"
    assert "open it again" in caught.value.message


@pytest.mark.parametrize("field_type, default, initial", [
    ("integer", "42", {"initial_value": "42"}),
    ("boolean", "1", {"initial_options": [CHECKBOX]}),
    ("select", "ent", {"initial_option": {"text": {"type": "plain_text", "text": "Enterprise"}, "value": "ent"}}),
])
def test_the_default_fills_an_empty_input_of_a_new_record(field_type, default, initial):
    element = input_block(probe(field_type, default=default), creating=True)["element"]
    assert element | initial == element
    # an existing record's empty value stays empty: the default is for new records only
    assert not set(initial) & set(input_block(probe(field_type, default=default))["element"])


def test_no_initial_attribute_without_value_or_default():
    element = input_block(probe("string"))["element"]
    assert element == {"type": "plain_text_input", "action_id": "value", "max_length": 255}


@pytest.mark.parametrize("field_type, required, optional", [
    ("string", False, True), ("string", True, False), ("select", True, False),
    ("boolean", False, True), ("boolean", True, True),  # an unticked box is an answer: No
])
def test_optional_follows_required_except_for_booleans(field_type, required, optional):
    assert input_block(probe(field_type, required=required))["optional"] is optional


def test_block_id_can_be_chosen():
    assert input_block(probe("string"), block_id="row_3")["block_id"] == "row_3"


def test_more_options_than_a_static_select_holds_use_an_external_select():
    options = [{"key": f"o{number}", "label": f"Option {number}"} for number in range(120)]
    definition = FieldSpec(key="probe", label="Probe", field_type="multiselect", options=options)
    element = input_block(definition, ["o5", "o110"])["element"]
    assert element["type"] == "multi_external_select" and "options" not in element
    assert [option["value"] for option in element["initial_options"]] == ["o5", "o110"]
    single = input_block(FieldSpec(key="probe", label="Probe", field_type="select", options=options), "o110")
    assert single["element"]["type"] == "external_select"
    assert single["element"]["initial_option"] == {"text": {"type": "plain_text", "text": "Option 110"},
                                                   "value": "o110"}
    assert submitted_value(definition, {"type": "multi_external_select",
                                        "selected_options": [{"value": "o110"}]}) == ["o110"]


@pytest.mark.parametrize("field_type, value", [("select", "gone"), ("multiselect", ["smb", "gone"])])
def test_a_value_whose_option_was_removed_is_not_shown_but_described(field_type, value):
    definition = FieldSpec(key="probe", label="Probe", field_type=field_type, required=True,
                           options=[{"key": "smb", "label": "Small business"}])
    block = input_block(definition, value)
    assert not shows(definition, value)
    assert "initial_option" not in block["element"] and "initial_options" not in block["element"]
    assert block["optional"] is True  # left empty, the value is kept
    assert "gone (removed option)" in block["hint"]["text"] and "Leave this empty to keep it" in block["hint"]["text"]


def test_a_text_longer_than_a_slack_box_is_not_shown_but_described():
    definition = probe("text")
    block = input_block(definition, "x" * 4200)
    assert "initial_value" not in block["element"] and "4,200 characters" in block["hint"]["text"]
    assert shows(definition, "x" * 3000) and not shows(definition, "x" * 3001)


def test_long_texts_are_cut_to_slack_limits():
    definition = FieldSpec(key="probe", label="L" * 2100, field_type="select",
                           options=[{"key": "long", "label": "O" * 80}])
    block = input_block(definition)
    assert len(block["label"]["text"]) == 2000 and block["label"]["text"].endswith("…")
    assert len(block["element"]["options"][0]["text"]["text"]) == 75
