"""Slack rich text to sanitized HTML (crm/documents/richtext.py), as a description reaches a PDF."""
import pytest
from hypothesis import given, settings, strategies as st

from crm.documents.richtext import sanitize, to_html

pytestmark = pytest.mark.database_free


def text(value: str, **style) -> dict:
    return {"type": "text", "text": value, **({"style": style} if style else {})}


def section(*elements) -> dict:
    return {"type": "rich_text_section", "elements": list(elements)}


def rich_text(*blocks) -> dict:
    return {"type": "rich_text", "block_id": "b1", "elements": list(blocks)}


def bullets(*items: str, indent: int = 0, style: str = "bullet") -> dict:
    return {"type": "rich_text_list", "style": style, "indent": indent, "border": 0,
            "elements": [section(text(item)) for item in items]}


def test_paragraphs_and_text_styles():
    html = to_html(rich_text(
        section(text("Dear customer,\nhere is "), text("our offer", bold=True), text(": "),
                text("valid", italic=True), text(" "), text("old price", strike=True), text(" "),
                text("REF-1", code=True), text(" "), text("all", bold=True, italic=True, strike=True, code=True)),
        section(text("Second paragraph")),
    ))
    assert html == ("<p>Dear customer,<br>here is <strong>our offer</strong>: <em>valid</em> <s>old price</s> "
                    "<code>REF-1</code> <strong><em><s><code>all</code></s></em></strong></p>"
                    "<p>Second paragraph</p>")


def test_nested_and_ordered_lists_become_nested_html_lists():
    html = to_html(rich_text(
        section(text("Included:\n")),  # Slack ends a paragraph that precedes a list with a newline
        bullets("Installation", "Training"),
        bullets("2 days", "on site", indent=1, style="ordered"),
        bullets("Support"),
        bullets("first step", style="ordered"),
    ))
    assert html == ("<p>Included:</p>"
                    "<ul><li>Installation</li><li>Training<ol><li>2 days</li><li>on site</li></ol></li>"
                    "<li>Support</li></ul>"
                    "<ol><li>first step</li></ol>")


def test_preformatted_text_and_quotes():
    html = to_html(rich_text(
        {"type": "rich_text_preformatted", "elements": [text("if a < b:\n    go()", bold=True)]},
        {"type": "rich_text_quote", "elements": [text("As agreed\non the phone")]},
    ))
    assert html == "<pre>if a &lt; b:\n    go()</pre><blockquote>As agreed<br>on the phone</blockquote>"


def test_links_keep_web_and_mail_addresses_only():
    html = to_html(rich_text(section(
        {"type": "link", "url": "https://example.com/terms?a=1&b=2", "text": "our terms"}, text(" "),
        {"type": "link", "url": "mailto:sales@example.com"}, text(" "),
        {"type": "link", "url": "javascript:alert(1)", "text": "click me"}, text(" "),
        {"type": "link", "url": "file:///etc/passwd", "text": "passwd"}, text(" "),
        {"type": "link", "url": "https://example.com/bold", "text": "bold link", "style": {"bold": True}},
    )))
    assert html == ('<p><a href="https://example.com/terms?a=1&amp;b=2">our terms</a> '
                    '<a href="mailto:sales@example.com">mailto:sales@example.com</a> click me passwd '
                    '<strong><a href="https://example.com/bold">bold link</a></strong></p>')


def test_mentions_are_plain_text_with_the_names_given():
    value = rich_text(section(
        text("Call "), {"type": "user", "user_id": "U0JANE"}, text(" or "), {"type": "user", "user_id": "U0BOB"},
        text(" in "), {"type": "channel", "channel_id": "C0SALES"}, text(", "),
        {"type": "usergroup", "usergroup_id": "S0TEAM"}, text(" "), {"type": "broadcast", "range": "channel"},
    ))
    assert to_html(value) == "<p>Call @U0JANE or @U0BOB in #C0SALES, @S0TEAM @channel</p>"
    names = {"U0JANE": "Jane Doe", "C0SALES": "sales", "S0TEAM": "team"}
    assert to_html(value, names) == "<p>Call @Jane Doe or @U0BOB in #sales, @team @channel</p>"


def test_emoji_dates_and_colors_print_as_text():
    html = to_html(rich_text(section(
        {"type": "emoji", "name": "thumbsup", "unicode": "1f44d"},
        {"type": "emoji", "name": "technologist", "unicode": "1f9d1-200d-1f4bb"},
        {"type": "emoji", "name": "custom-logo"},
        text(" "), {"type": "date", "timestamp": 1798761600, "format": "{date_long}", "fallback": "Jan 1st, 2027"},
        text(" "), {"type": "date", "timestamp": 1798761600, "format": "{date_long}"},
        text(" "), {"type": "color", "value": "#F405B3"},
    )))
    assert html == "<p>👍🧑\u200d💻:custom-logo: Jan 1st, 2027 2027-01-01 #F405B3</p>"


def test_text_is_escaped_not_interpreted():
    html = to_html(rich_text(section(text('<script>alert("x")</script> <img src=x> & co'))))
    assert html == '<p>&lt;script&gt;alert("x")&lt;/script&gt; &lt;img src=x&gt; &amp; co</p>'


def test_unknown_and_malformed_parts_degrade_to_their_text():
    html = to_html(rich_text(
        section(text("a"), {"type": "sparkle", "text": "b"}, {"type": "mystery", "elements": [text("c")]},
                {"type": "text"}, {"type": "user"}, "not a dict", {"type": "emoji", "unicode": "zz"},
                {"type": "broadcast", "range": "<!everyone>"}, {"type": "date", "timestamp": 10 ** 30}),
        {"type": "rich_text_new_block", "elements": [text("d")]},
        {"type": "rich_text_list", "style": "bullet", "indent": "deep", "elements": "nope"},
        {"type": "rich_text_section", "elements": None},
        42,
    ))
    assert html == "<p>abc@::@here</p><p>d</p><ul><li></li></ul>"


@pytest.mark.parametrize("value", [None, {}, {"type": "rich_text"}, {"elements": []}, "text", []])
def test_nothing_to_show_is_empty(value):
    assert to_html(value) == ""


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10)
    | st.sampled_from(["rich_text_section", "rich_text_list", "rich_text_quote", "rich_text_preformatted",
                       "text", "link", "user", "emoji", "date", "broadcast", "ordered", "bullet"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "elements", "text", "style", "url", "indent", "unicode", "name", "timestamp",
                         "range", "user_id", "bold", "fallback"]), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_any_json_converts_without_raising_and_stays_within_the_allowlist(value):
    html = to_html({"type": "rich_text", "elements": value} if not isinstance(value, dict) else value)
    assert sanitize(html) == html


def test_sanitize_keeps_the_allowlist_and_drops_the_rest():
    dirty = ('<p class="x" style="color:red" onclick="steal()">Hi <b>there</b>'
             '<script>alert(1)</script><style>p { color: red }</style>'
             '<img src="http://127.0.0.1:8000/pixel.png"><iframe src="https://example.com"></iframe>'
             '<a href="javascript:alert(1)">js</a> <a href="/etc/passwd">relative</a> '
             '<a href="https://example.com" target="_blank" title="t">web</a> '
             '<a href="data:text/html,hi">data</a><!-- comment --></p>'
             '<ul><li><em>ok</em></li></ul><table><tr><td>cell</td></tr></table>'
             '<svg><image href="file:///etc/passwd"/></svg><link rel="stylesheet" href="http://x/y.css">')
    assert sanitize(dirty) == ('<p>Hi there'
                               '<a>js</a> <a>relative</a> <a href="https://example.com">web</a> <a>data</a></p>'
                               '<ul><li><em>ok</em></li></ul>cell')
