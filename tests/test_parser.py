"""The `/crm` command line (SPEC §3): Slack's escaping, quotes, REFs, NAME/TEXT and formats."""
import pytest

from bot.parser import Command, parse, tokenize, unescape, user_id
from crm.errors import ValidationError


@pytest.mark.parametrize("sent, typed", [
    ("Smith &amp; Sons", "Smith & Sons"),
    ("&lt;b&gt;", "<b>"),
    ("&amp;lt;", "&lt;"),  # the caller typed "&lt;": unescaped once, not twice
    ("<@U123|bob>", "<@U123>"),
    ("<@U123>", "<@U123>"),
    ("<#C123|general>", "#general"),
    ("<mailto:a@b.com|a@b.com>", "a@b.com"),
    ("<http://acme.com|acme.com>", "acme.com"),
    ("<https://acme.com/?a=1&amp;b=2>", "https://acme.com/?a=1&b=2"),
    ("<https://acme.com/offer|our offer>", "https://acme.com/offer"),
    ("<!here>", "<!here>"),
    ("mail <mailto:a@b.com|a@b.com> about <https://acme.com|acme.com>",
     "mail a@b.com about acme.com"),
])
def test_unescape(sent, typed):
    assert unescape(sent) == typed


@pytest.mark.parametrize("text, words", [
    ("", []),
    ("  show   ACME  ", ["show", "ACME"]),
    ('show "Acme Widgets" now', ["show", '"Acme Widgets"', "now"]),
    ("show “Acme Widgets”", ["show", "“Acme Widgets”"]),
    ('list name:"Acme W" -tag:x', ["list", 'name:"Acme W"', "-tag:x"]),
])
def test_tokenize(text, words):
    assert tokenize(text) == words


@pytest.mark.parametrize("text", ['show "Acme Widgets', "show “Acme", 'note ACME a 24" screen'])
def test_unterminated_quote_is_refused(text):
    with pytest.raises(ValidationError) as error:
        parse(text)
    assert error.value.field == "command"
    assert "never closed" in error.value.message


@pytest.mark.parametrize("token, expected", [
    ("<@U123>", "U123"), ("<@U123|bob>", "U123"), ("<@W42>", "W42"),
    ("U123", None), ("@bob", None), ("<#C123>", None),
])
def test_user_id(token, expected):
    assert user_id(token) == expected


def test_reassign_users():
    command = parse("reassign <@U1|bob> <@U2>")
    assert [user_id(arg) for arg in command.args] == ["U1", "U2"]


@pytest.mark.parametrize("text, action", [
    ("", ""), ("   ", ""), ("help", "help"), ("SHOW ACME", "show"), ("Show ACME", "show"),
])
def test_action_is_the_lower_cased_first_word(text, action):
    assert parse(text).action == action


def test_empty_line_is_help():
    assert parse("") == Command("", [], "", None)


@pytest.mark.parametrize("text, name", [
    ("new prospect Acme Widgets", "Acme Widgets"),
    ("new prospect Smith &amp; Sons", "Smith & Sons"),
    ("new customer   Acme,  Widgets &amp; Co.  ", "Acme,  Widgets & Co."),
    ('new both "Acme Widgets"', "Acme Widgets"),
    ("new both “Acme Widgets”", "Acme Widgets"),
    ('new prospect "Acme" Widgets', '"Acme" Widgets'),
    ("new prospect &lt;b&gt;", "<b>"),
    ("new prospect", ""),
])
def test_name_is_the_rest_of_the_line(text, name):
    assert parse(text).after(1) == name


@pytest.mark.parametrize("text, ref", [
    ("show ACME", "ACME"),
    ('show "Acme Widgets"', "Acme Widgets"),
    ("show “Acme Widgets”", "Acme Widgets"),
    ("show CU2601-00001 extra", "CU2601-00001"),
])
def test_ref(text, ref):
    assert parse(text).ref() == ref


@pytest.mark.parametrize("text, index, ref", [
    ("show Acme Widgets", 0, "Acme Widgets"),
    ('show "Acme Widgets"', 0, "Acme Widgets"),
    ("show ACME", 0, "ACME"),
    ("contact add Smith & Sons", 1, "Smith & Sons"),
])
def test_a_final_ref_takes_the_rest_of_the_line(text, index, ref):
    assert parse(text).ref(index, last=True) == ref


@pytest.mark.parametrize("text", ["show", 'show ""'])
def test_missing_ref_answers_with_an_example(text):
    with pytest.raises(ValidationError) as error:
        parse(text).ref()
    assert error.value.field == "REF"
    assert "/crm show CU2601-00001" in error.value.message


def test_note_ref_and_text():
    command = parse('note "Acme Widgets" Called them, they said "yes"')
    assert command.ref() == "Acme Widgets"
    assert command.after(1) == 'Called them, they said "yes"'


def test_merge_refs():
    command = parse("merge ACME into “Acme Widgets”")
    assert (command.ref(0), command.args[1], command.ref(2)) == ("ACME", "into", "Acme Widgets")


@pytest.mark.parametrize("text, args, rest, format", [
    ("export type:customer csv", ["type:customer"], "type:customer", "csv"),
    ("export type:customer  XLSX", ["type:customer"], "type:customer", "xlsx"),
    ("export xlsx", [], "", "xlsx"),  # an empty FILTER: everything
    ("list tag:vip csv", ["tag:vip"], "tag:vip", "csv"),
    ("search acme csv", ["acme"], "acme", "csv"),
    ("search csv", ["csv"], "csv", None),  # the search text itself, not a format
    ('export "csv"', ['"csv"'], '"csv"', None),  # quoted: a word, not a format
    ("export type:customer pdf", ["type:customer", "pdf"], "type:customer pdf", None),
    ("note ACME send the csv", ["ACME", "send", "the", "csv"], "ACME send the csv", None),
])
def test_final_format_word(text, args, rest, format):
    command = parse(text)
    assert (command.args, command.rest, command.format) == (args, rest, format)
