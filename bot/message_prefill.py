"""What a message tells about a new third party ("New third party from message"): a name from
its first line, and an email address and a phone number found in its text."""
from __future__ import annotations

import re

from bot.parser import message_words

NAME_LIMIT = 255
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# international (+33…), national (01…) or bracketed ((555)…): a date or an amount is none of these
PHONE = re.compile(r"(?<!\w)(?:\+\d|\(\d|0\d)[\d .()/-]{4,}\d")


def thirdparty_values(text: str) -> dict:
    """The create form's values found in a message's text."""
    words = message_words(text)
    values = {}
    first_line = next((" ".join(line.split()) for line in words.splitlines() if line.strip()), "")
    if first_line:
        values["name"] = first_line[:NAME_LIMIT]
    for field, pattern in (("email", EMAIL), ("phone", PHONE)):
        found = pattern.search(words)
        if found:
            values[field] = found.group().strip()
    return values
