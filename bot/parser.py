"""The `/crm` command line (SPEC §3): Slack's escaped text in, an action and its words out.

The manifest sets `should_escape: true`, so Slack sends `&amp; &lt; &gt;` for the three
characters it reserves and wraps users, channels and links in `<…>`. `unescape` turns that
back into what the caller typed, keeping user mentions as `<@U123>` tokens that
`user_id` recognises. Words are split on whitespace; double quotes, straight or the
typographic ones Slack clients type, group words (`show "Acme Widgets"`).

A quote opens a group only where a word or a FILTER value starts: at the start of the text,
after whitespace or after a `:` (`name:"Acme W"`). The group ends at the next quote. A quote
anywhere else is a literal character, so `24" screen` and the Hebrew company form `בע"מ`
are words as typed.
"""
import re
from dataclasses import dataclass

from crm.errors import ValidationError
from crm.quoting import QUOTES, quoting

FORMATS = ("csv", "xlsx")
# Actions whose final word may be a format, mapped to how many words must stay in front of
# it: a search needs its text (`/crm search csv` looks for "csv"), while a FILTER may be
# empty (`/crm export xlsx` exports everything).
FORMAT_ACTIONS = {"export": 0, "list": 0, "search": 1}

_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# A Slack `<target|label>` wrapper, or one of the three entities it escapes.
_ESCAPED = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>|&(amp|lt|gt);")
# A quote opens a group at the start, after whitespace or after a `:`.
_QUOTING = quoting(after=":")
# What `tokenize` reads: a word, or else a quote that opens a group never closed.
_TOKEN = re.compile(rf"{_QUOTING.word.pattern}|(?P<unclosed>{_QUOTING.opening})")
_MARKUP = re.compile(r"<[@!#][^<>]*>")  # what unescape leaves of mentions and broadcasts
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def unescape(text: str) -> str:
    """What the caller typed, from the text Slack sends with `should_escape: true`.

    One pass, so an escaped `&amp;lt;` stays the literal `&lt;` the caller typed.
    """
    def replace(match: re.Match) -> str:
        target, label, entity = match.groups()
        if entity:
            return _ENTITIES[entity]
        return _unwrap(_unescape_entities(target), label and _unescape_entities(label))

    return _ESCAPED.sub(replace, text)


def message_words(text: str) -> str:
    """A message's text as its author typed it, mentions, broadcasts and channel links left out."""
    return _MARKUP.sub(" ", unescape(text or ""))


def _unescape_entities(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _unwrap(target: str, label: str | None) -> str:
    """The text a `<target|label>` wrapper stands for."""
    if target.startswith("@"):
        return f"<{target}>"  # kept as a token, the label dropped: names change, IDs do not
    if target.startswith("#") and label:
        return f"#{label}"
    if target.startswith("mailto:"):
        return target.removeprefix("mailto:")
    if target.startswith(("http://", "https://")):
        # Slack links a typed `acme.com` as <http://acme.com|acme.com>: keep what was typed.
        return label if label == target.split("://", 1)[1] else target
    return label or f"<{target}>"


def tokenize(text: str) -> list[str]:
    """The words of `text`, quotes kept; a group left open is an error, not a guess."""
    words = []
    for match in _TOKEN.finditer(text):
        if match.group("unclosed"):
            opened = text[match.start():]
            excerpt = opened if len(opened) <= 20 else opened[:20] + "…"
            raise ValidationError(
                "command", f"The quote in `{excerpt}` is never closed: close it or remove it.")
        words.append(match.group())
    return words


def unquote(word: str) -> str:
    """A word without the quotes of its groups: `"Acme Widgets"` is the name Acme Widgets,
    while the literal quote of `24"` or `בע"מ` stays."""
    return _QUOTING.unquoted(word)


def user_id(token: str) -> str | None:
    """The Slack user ID of a mention token (`<@U123>` or `<@U123|bob>`), else None."""
    match = _USER.fullmatch(token)
    return match and match.group(1)


@dataclass(frozen=True)
class Command:
    """A parsed `/crm` line.

    `action` is the lower-cased first word ("" for an empty line: help); `args` are the
    following words, quotes kept; `rest` is the unescaped text after the action, trimmed,
    quotes kept, for NAME, TEXT and FILTER; `format` is "csv" or "xlsx" when the final word
    of an export, list or search names one (it is then in neither `args` nor `rest`).
    """

    action: str
    args: list[str]
    rest: str
    format: str | None = None

    def ref(self, index: int = 0, *, last: bool = False) -> str:
        """The REF at `args[index]`, unquoted; a missing one answers with an example.

        `last=True` for a REF that ends the command: then unquoted words after it are part
        of it, so `/crm show Acme Widgets` means "Acme Widgets" as people expect.
        """
        ref = unquote(self.args[index]) if index < len(self.args) else ""
        if last and len(self.args) > index + 1:
            ref = self.after(index)
        if not ref:
            raise ValidationError(
                "REF",
                f'Say which third party: its code, its exact name or the start of its name, '
                f'e.g. `/crm {self.action} CU2601-00001` or `/crm {self.action} "Acme Widgets"`.')
        return ref

    def after(self, count: int) -> str:
        """The text after the first `count` args as typed, for NAME and TEXT ("" if none).

        Spacing and punctuation are kept; only the quotes of a lone quoted word go, so
        `new prospect "Acme Widgets"` and `new prospect Acme Widgets` name the same.
        """
        words = list(_QUOTING.word.finditer(self.rest))
        if count > len(words):
            return ""
        text = self.rest[words[count - 1].end():].strip() if count else self.rest
        lone_quoted_word = len(words) == count + 1 and text[:1] in QUOTES
        return unquote(text) if lone_quoted_word else text


def parse(text: str) -> Command:
    """The command in the text of a `/crm` slash command, as Slack sends it."""
    line = unescape(text).strip()
    words = tokenize(line)
    if not words:
        return Command("", [], "")
    action, args = words[0].lower(), words[1:]
    rest = line[len(words[0]):].strip()
    file_format = None
    if (action in FORMAT_ACTIONS and len(args) > FORMAT_ACTIONS[action]
            and args[-1].lower() in FORMATS):
        file_format = args.pop().lower()
        rest = rest[:-len(file_format)].rstrip()
    return Command(action, args, rest, file_format)
