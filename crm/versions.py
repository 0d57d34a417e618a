"""Edits that keep what others saved meanwhile (SPEC §3).

An edit form is opened with the values of its record; a form stays open while others save.
When it opens, the form keeps a short fingerprint of each value it shows (in Slack's
`private_metadata`, which holds 3,000 characters: the values themselves would not fit).
When it is saved, a field whose value is still the one it showed was not changed by this
person and is left as it is now; a field they changed is written, unless someone else
changed it meanwhile to something else: then the save is refused next to that field,
naming the newer value, and nothing is saved.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any, Callable

from crm.errors import EditConflict

FINGERPRINT_BYTES = 6  # 48 bits: 8 characters in base64
_NONE = "\x00"  # "no value", distinct from the empty text


def fingerprint(value: str | list[str] | None) -> str:
    """A short digest of a canonical value (text, a list of texts, or None)."""
    text = _NONE if value is None else "\x1f".join(value) if isinstance(value, list) else value
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=FINGERPRINT_BYTES).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def fingerprints(values: dict[str, Any]) -> dict[str, str]:
    return {name: fingerprint(value) for name, value in values.items()}


def to_apply(
    wanted: dict[str, Any],
    current: dict[str, Any],
    shown: dict[str, str] | None,
    describe: Callable[[str, Any], str],
) -> dict[str, Any]:
    """The values of `wanted` to write over `current` (both canonical, by field).

    `shown` holds the fingerprints of what the form showed (None: no form, e.g. the command
    line, so every wanted value applies). `describe(field, newer)` words a conflict.
    """
    apply, conflicts = {}, {}
    for name, value in wanted.items():
        now = current[name]
        before = None if shown is None else shown.get(name)
        if before is not None and fingerprint(value) == before:
            continue  # what the form showed: this person left it alone
        if before is not None and fingerprint(now) != before and now != value:
            conflicts[name] = describe(name, now)
        elif now != value:
            apply[name] = value
    if conflicts:
        raise EditConflict(conflicts)
    return apply


def described_by(labels: dict[str, str]) -> Callable[[str, Any], str]:
    """The usual `describe` of `to_apply` for a form whose fields have these labels."""
    def describe(name: str, newer) -> str:
        text = ", ".join(newer) if isinstance(newer, list) else newer
        shown = f"“{text[:100]}”" if text else "empty"
        return (f"{labels.get(name, name)} was changed to {shown} by someone else since you opened this form. "
                f"Enter that to keep it, or close the form and edit again to replace it.")
    return describe
