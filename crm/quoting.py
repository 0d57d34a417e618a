"""Words and "quoted groups" of a typed line (SPEC §3: a REF, a FILTER): one rule for every
reader of what people type.

A quote opens a group at the start of a word, or right after one of the `after` characters
(`:` in `name:"Acme W"`); anywhere else it is a literal character (`24"`, `בע"מ`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

QUOTES = '"“”'


@dataclass(frozen=True)
class Quoting:
    opening: str  # the pattern of a quote that opens a group
    group: re.Pattern  # a quoted group, its text captured
    word: re.Pattern  # a word: quoted groups and other characters, up to whitespace outside a group

    def unquoted(self, text: str) -> str:
        """`text` with each quoted group replaced by its content."""
        return self.group.sub(r"\1", text)


def quoting(after: str) -> Quoting:
    opening = rf"(?<![^\s{re.escape(after)}])[{QUOTES}]"
    group = re.compile(rf"{opening}([^{QUOTES}]*)[{QUOTES}]")
    return Quoting(opening, group, re.compile(rf"(?:{group.pattern}|(?!{opening})\S)+"))
