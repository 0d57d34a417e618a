"""A document's description, typed in Slack's rich text input, as safe HTML for its PDF.

Slack gives the value of a `rich_text_input` as a `rich_text` block: sections (paragraphs),
lists (a nested item is a list of its own with a larger `indent`), preformatted text and
quotes, each holding inline elements (styled text, links, emoji, mentions, dates…). The
HTML made from it uses a handful of tags, and whatever HTML reaches a PDF goes through
`sanitize`, whose allowlist is the last word on what may be in it. Unknown or malformed
parts degrade to their text: a description never fails to convert.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from html import escape

import nh3

ALLOWED_TAGS = {"p", "br", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
STYLE_TAGS = (("code", "code"), ("strike", "s"), ("italic", "em"), ("bold", "strong"))  # innermost first
BROADCASTS = {"here", "channel", "everyone"}

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style"},  # dropped with their content, not shown as text
    attributes={"*": set(), "a": {"href"}},  # "*": no attribute on every tag (lang, title)
    url_schemes=ALLOWED_URL_SCHEMES,
    url_relative="deny",  # a relative link would resolve against the renderer's own files
    link_rel=None,
    strip_comments=True,
)


def sanitize(html: str) -> str:
    """`html` reduced to the allowlist: no images, styles, scripts, nor links other than
    http, https and mailto."""
    return _cleaner.clean(html if isinstance(html, str) else "")


def to_html(rich_text: dict | None, names: Mapping[str, str] | None = None) -> str:
    """The sanitized HTML of a `rich_text` block; "" for None or nothing to show.

    `names` maps Slack IDs (users, channels, user groups) to the names to print; a mention
    is plain text either way ("@Jane Doe", "@U0123ABCD"), never something that notifies.
    """
    if not isinstance(rich_text, dict):
        return ""
    converter = _Converter(names or {})
    return sanitize("".join(converter.blocks(_elements(rich_text))))


class _Converter:
    def __init__(self, names: Mapping[str, str]):
        self.names = names

    def blocks(self, elements: list[dict]) -> list[str]:
        html, pending_lists = [], []
        for element in elements:
            if element.get("type") == "rich_text_list":
                pending_lists.append(element)
                continue
            if pending_lists:
                html.append(self.lists(pending_lists))
                pending_lists = []
            html.append(self.block(element))
        if pending_lists:
            html.append(self.lists(pending_lists))
        return html

    def block(self, element: dict) -> str:
        kind = element.get("type")
        if kind == "rich_text_preformatted":
            return f"<pre>{''.join(self.inline(child, preformatted=True) for child in _elements(element))}</pre>"
        if kind == "rich_text_quote":
            return f"<blockquote>{self.inlines(_elements(element))}</blockquote>"
        if kind == "rich_text_section" or _elements(element):
            content = self.inlines(_elements(element))
            return f"<p>{content}</p>" if content else ""
        return self.inline(element)  # an inline element out of place, or an unknown one

    def lists(self, lists: list[dict]) -> str:
        """Consecutive list blocks as nested HTML lists: Slack writes a nested list as a list
        of its own, following its parent item, with `indent` one more."""
        html, open_tags = [], []  # open_tags: ("ul" | "ol", indent), outermost first
        for block in lists:
            indent = _indent(block)
            tag = "ol" if block.get("style") == "ordered" else "ul"
            # close deeper lists, and a list of the other kind at this depth
            while open_tags and (open_tags[-1][1] > indent or open_tags[-1] == ({"ol": "ul", "ul": "ol"}[tag], indent)):
                html.append(f"</li></{open_tags.pop()[0]}>")
            if open_tags and open_tags[-1][1] == indent:
                html.append("</li>")
            else:
                html.append(f"<{tag}>")
                open_tags.append((tag, indent))
            items = [self.inlines(_elements(item)) for item in _elements(block)]
            html.append("</li>".join(f"<li>{item}" for item in items) or "<li>")
        html.extend(f"</li></{tag}>" for tag, _ in reversed(open_tags))
        return "".join(html)

    def inlines(self, elements: list[dict]) -> str:
        html = "".join(self.inline(element) for element in elements)
        return html.removesuffix("<br>")  # Slack ends a paragraph before a list with a newline

    def inline(self, element: dict, preformatted: bool = False) -> str:
        kind = element.get("type")
        if kind == "link":
            url = _text(element.get("url"))
            label = _escaped(_text(element.get("text")) or url, preformatted)
            if url.split(":", 1)[0].lower() in ALLOWED_URL_SCHEMES and ":" in url:
                label = f'<a href="{escape(url, quote=True)}">{label}</a>'
            return label if preformatted else _styled(label, element)
        text = self.text_of(element)
        return _escaped(text, preformatted) if preformatted else _styled(_escaped(text), element)

    def text_of(self, element: dict) -> str:
        kind = element.get("type")
        if kind == "emoji":
            return _emoji(element)
        if kind == "user":
            return "@" + self._name(element.get("user_id"))
        if kind == "usergroup":
            return "@" + self._name(element.get("usergroup_id"))
        if kind == "channel":
            return "#" + self._name(element.get("channel_id"))
        if kind == "broadcast":
            broadcast = _text(element.get("range"))
            return "@" + (broadcast if broadcast in BROADCASTS else "here")
        if kind == "date":
            return _date(element)
        if kind == "color":
            return _text(element.get("value"))
        return _text(element.get("text")) or "".join(self.text_of(child) for child in _elements(element))

    def _name(self, slack_id) -> str:
        slack_id = _text(slack_id)
        return self.names.get(slack_id) or slack_id


def _elements(element: dict) -> list[dict]:
    children = element.get("elements")
    return [child for child in children if isinstance(child, dict)] if isinstance(children, list) else []


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _indent(block: dict) -> int:
    indent = block.get("indent")
    return indent if isinstance(indent, int) and 0 <= indent <= 8 else 0


def _escaped(text: str, preformatted: bool = False) -> str:
    html = escape(text, quote=False)
    return html if preformatted else html.replace("\n", "<br>")


def _styled(html: str, element: dict) -> str:
    style = element.get("style")
    if not html or not isinstance(style, dict):
        return html
    for key, tag in STYLE_TAGS:
        if style.get(key) is True:
            html = f"<{tag}>{html}</{tag}>"
    return html


def _emoji(element: dict) -> str:
    """The emoji's character when Slack gives its code points ("1f44d", "1f468-200d-1f4bb"),
    else its :name:."""
    codes = _text(element.get("unicode"))
    try:
        return "".join(chr(int(code, 16)) for code in codes.split("-")) if codes else f":{_text(element.get('name'))}:"
    except (ValueError, OverflowError):
        return f":{_text(element.get('name'))}:"


def _date(element: dict) -> str:
    fallback = _text(element.get("fallback"))
    timestamp = element.get("timestamp")
    if fallback or not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        return fallback
    try:
        return datetime.fromtimestamp(timestamp, timezone.utc).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return ""
