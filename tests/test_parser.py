"""The `/crm` command line (SPEC §3): Slack's escaping, quotes, REFs, NAME/TEXT and formats."""
import pytest

from bot.parser import Command, parse, tokenize, unescape, unquote, user_id
from crm.errors import ValidationError

pytestmark = pytest.mark.database_free


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
    # a quote inside a word is a literal character, not the start of a group
    ('search 24" screen', ["search", '24"', "screen"]),
    ('new customer כהן בע"מ', ["new", "customer", "כהן", 'בע"מ']),
    ("new customer כהן בע”מ", ["new", "customer", "כהן", "בע”מ"]),
    ('note ACME "big" 24" screen', ["note", "ACME", '"big"', '24"', "screen"]),
    ('show "Acme 24" x', ["show", '"Acme 24"', "x"]),  # a group ends at the next quote
    ('a 1"2"3 b', ["a", '1"2"3', "b"]),
])
def test_tokenize(text, words):
    assert tokenize(text) == words


@pytest.mark.parametrize("text, excerpt", [
    ('show "Acme Widgets', '`"Acme Widgets`'),
    ("show “Acme", "`“Acme`"),
    ('note ACME a 24" "screen', '`"screen`'),  # the literal quote of 24" closes nothing
    ('list name:"Acme W', '`"Acme W`'),
    ('note ACME "a long note that goes on', '`"a long note that go…`'),
])
def test_unterminated_quote_is_refused(text, excerpt):
    with pytest.raises(ValidationError) as error:
        parse(text)
    assert error.value.field == "command"
    assert error.value.message == f"The quote in {excerpt} is never closed: close it or remove it."


@pytest.mark.parametrize("word, unquoted", [
    ('"Acme Widgets"', "Acme Widgets"),
    ("“Acme Widgets”", "Acme Widgets"),
    ('24"', '24"'),
    ('בע"מ', 'בע"מ'),
    ('name:"Acme W"', "name:Acme W"),
    ('"Acme"x"', 'Acmex"'),
])
def test_unquote_removes_only_the_quotes_of_groups(word, unquoted):
    assert unquote(word) == unquoted


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
    ('new customer כהן בע"מ', 'כהן בע"מ'),
    ('new customer "כהן בע"מ', "כהן בעמ"),  # a group opened by a leading quote ends at the next
    ('new prospect Screens 24"', 'Screens 24"'),
    ('new prospect 24"', '24"'),
    ("new prospect", ""),
])
def test_name_is_the_rest_of_the_line(text, name):
    assert parse(text).after(1) == name


@pytest.mark.parametrize("text, ref", [
    ("show ACME", "ACME"),
    ('show "Acme Widgets"', "Acme Widgets"),
    ("show “Acme Widgets”", "Acme Widgets"),
    ("show CU2601-00001 extra", "CU2601-00001"),
    ('show בע"מ', 'בע"מ'),
    ('show 24" extra', '24"'),
])
def test_ref(text, ref):
    assert parse(text).ref() == ref


@pytest.mark.parametrize("text, index, ref", [
    ("show Acme Widgets", 0, "Acme Widgets"),
    ('show "Acme Widgets"', 0, "Acme Widgets"),
    ("show ACME", 0, "ACME"),
    ("contact add Smith & Sons", 1, "Smith & Sons"),
    ('show כהן בע"מ', 0, 'כהן בע"מ'),
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
    ('search 24" screen', ['24"', "screen"], '24" screen', None),
    ('search 24" screen csv', ['24"', "screen"], '24" screen', "csv"),
])
def test_final_format_word(text, args, rest, format):
    command = parse(text)
    assert (command.args, command.rest, command.format) == (args, rest, format)
