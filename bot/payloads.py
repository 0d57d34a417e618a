"""Reading what Slack sends back from our own buttons and forms: anything else is `Stale`."""
from __future__ import annotations


class Stale(Exception):
    """A button or form whose payload is not what this app wrote (old, forged or truncated)."""


def record_id(value) -> int:
    """The record id a button, a menu option or a form carries."""
    try:
        number = int(str(value))
    except ValueError:
        raise Stale(str(value)[:40]) from None
    if number <= 0:
        raise Stale(str(value)[:40])
    return number


def action(body: dict) -> dict:
    """The one action of a block_actions payload."""
    try:
        return body["actions"][0]
    except (KeyError, IndexError, TypeError):
        raise Stale("no action") from None


def selected_value(body: dict) -> str:
    """The value of the option chosen in a menu."""
    try:
        return action(body)["selected_option"]["value"]
    except (KeyError, TypeError):
        raise Stale("no option") from None


def form_values(body: dict) -> dict:
    """The inputs of a submitted form, as Slack's `state.values`."""
    try:
        return body["view"]["state"]["values"]
    except (KeyError, TypeError):
        raise Stale("no form state") from None
