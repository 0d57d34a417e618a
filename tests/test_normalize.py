"""Folding of every script (crm/normalize.py): fold, name_key, search_text, numbers_differ."""
import re
import sys
import unicodedata

import pytest

from crm.normalize import fold, name_key, numbers_differ, search_text, vat_key

pytestmark = pytest.mark.database_free


@pytest.mark.parametrize("text, folded", [
    # Latin, accents and case
    ("Crème Brûlée SARL", "creme brulee sarl"),
    ("  ACME,  Widgets & Co. ", "acme widgets co"),
    ("Ærø Øst", "ærø øst"),  # letters of their own, not a letter and a mark
    ("Straße", "strasse"),  # German ß casefolds to ss
    ("STRASSE", "strasse"),
    ("İSTANBUL", "istanbul"),  # casefold gives "i̇" (i + U+0307); the dot is a mark
    ("ISPANAK", "ispanak"), ("ıspanak", "ispanak"),  # the dotless ı folds to i, as I does
    ("ﬁnance ﬀ", "finance ff"),  # ligatures
    ("ＡＣＭＥ　Ｗｉｄｇｅｔｓ", "acme widgets"),  # full-width Latin and ideographic space
    ("snake_case-name", "snake case name"),  # `_` separates like any punctuation
    # Cyrillic, Greek
    ("МОСКВА", "москва"),
    ("Ёлка", "елка"),  # the diaeresis of ё is a mark
    ("Йогурт Київ", "иогурт киів"),  # so are the breve of й and the diaeresis of ї: lossy, alike on both sides
    ("Αθήνα", "αθηνα"),
    ("ΟΔΟΣ", "οδοσ"), ("οδός", "οδοσ"),  # final sigma casefolds to σ
    # Arabic, Hebrew
    ("مُحَمَّد", "محمد"),  # harakat
    ("مـحـمـد", "محمد"),  # tatweel joins, it does not split
    ("שָׁלוֹם", "שלום"),  # niqqud
    ('כהן בע"מ', "כהן בעמ"),  # a Hebrew acronym mark inside a word goes
    ("צָהַ״ל", "צהל"),  # gershayim after a pointed letter
    ('"שלום"', "שלום"),  # quotes around a word still separate
    ("می\u200cخواهم", "میخواهم"),  # Persian zero-width non-joiner
    # CJK, kana, Hangul
    ("株式会社トヨタ", "株式会社トヨタ"),
    ("ｱｲｳ", "アイウ"),  # half-width katakana: the NFKC form
    ("ﾄﾖﾀ自動車", "トヨタ自動車"),
    ("ガ", "カ"),  # the voicing mark is a combining mark
    ("한국어 회사", "한국어 회사"),  # Hangul syllables recomposed, not left as jamo
    ("東京・大阪", "東京 大阪"),  # the katakana middle dot separates
    # invisible characters inside a word
    ("Ex\u00adample", "example"),  # soft hyphen
    ("x\U0001d167y", "xy"),  # an astral combining mark
    ("葛\U000e0100城", "葛城"),  # an ideographic variation selector (plane 14)
    ("", ""), ("  -- ", ""),
])
def test_fold(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize("text, folded", [
    ("٠١٢٣٤٥٦٧٨٩", "0123456789"),  # Arabic-Indic
    ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),  # Persian
    ("०१२३", "0123"),  # Devanagari
    ("๑๒๓", "123"),  # Thai
    ("０１２", "012"),  # full-width
    ("Store ٣", "store 3"),
    ("x²", "x2"),  # NFKC
])
def test_digits_of_every_script_are_ascii(text, folded):
    assert fold(text) == folded


def test_every_combining_mark_is_dropped():
    marks = [chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code))[0] == "M"]
    assert len(marks) > 2000
    kept = [f"U+{ord(mark):04X}" for mark in marks if fold(f"a{mark}b") != "ab"]
    # the Greek iota subscript casefolds to the letter ι before marks go: ᾳ is αι
    assert kept == ["U+0345"]
    assert fold("ᾼ") == fold("ᾳ") == "αι"


def test_every_decimal_digit_is_ascii():
    digits = [chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Nd"]
    assert len(digits) > 600
    wrong = [f"U+{ord(digit):04X}" for digit in digits if fold(digit) != str(unicodedata.decimal(digit))]
    assert wrong == []


def test_words_are_letters_and_numbers_of_every_category():
    """`fold` relies on `re`'s `\\w` being exactly categories L* and N*, plus `_`."""
    word = re.compile(r"[^\W_]")
    differ = [f"U+{code:04X}" for code in range(sys.maxunicode + 1)
              if bool(word.match(chr(code))) != (unicodedata.category(chr(code))[0] in "LN")]
    assert differ == []


@pytest.mark.parametrize("text", [
    "Crème Brûlée", "İSTANBUL", "ﬁ", "ｶﾞｽ", "مُحَمَّد", 'בע"מ', "한국어", "Ǆemal", "ϓ", "ﷺ", "ẞ",
])
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@pytest.mark.parametrize("a, b", [
    ("ACME, S.A.R.L.", "Acme"),
    ("Acme Widgets Ltd.", "ACME WIDGETS"),
    ("Crème Brûlée SAS", "creme brulee"),
    ("ООО «Ромашка»", "Ромашка"),
    ("О.О.О. Ромашка", "ромашка"),
    ("OOO Romashka", "Romashka"),
    ("ЗАО Вектор", "вектор"),
    ("ТОВ Сонце", "Сонце"),
    ("Αθήνα Α.Ε.", "ΑΘΗΝΑ"),
    ('כהן בע"מ', "כהן"),
    ("כהן בע״מ", "כהן"),
    ("İSTANBUL GIDA", "istanbul gıda"),  # the dotless ı folds to i, like an accent
    ("ＡＣＭＥ　ＧｍｂＨ", "acme"),
])
def test_name_key_matches(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize("a, b", [
    ("Acme", "Acne"),
    ("株式会社トヨタ", "トヨタ"),  # CJK legal forms are part of the name's one run: kept
    ("Москва", "Моска"),
    ("Ромашка", "Ромашки"),
])
def test_name_key_differs(a, b):
    assert name_key(a) != name_key(b)


@pytest.mark.parametrize("name, key", [
    ("ACME, S.A.R.L.", "acme"),
    ("SARL", "sarl"),  # nothing but a legal form: kept rather than empty
    ("ООО", "ооо"),
    ("株式会社トヨタ", "株式会社トヨタ"),
    ("مُحَمَّد للتجارة", "محمد للتجارة"),
])
def test_name_key(name, key):
    assert name_key(name) == key


def test_search_text_is_folded_with_digits_only_phones():
    haystack = search_text("Москва Плаза", "", "+7 (495) 123-45-67", "Одеса 12")
    assert haystack == " москва плаза | 7 495 123 45 67 | 74951234567 | одеса 12 "


def test_search_text_maps_phone_digits_of_other_scripts():
    haystack = search_text("+٩٦٦ ٥٠ ١٢٣ ٤٥٦٧")
    assert " 966 50 123 4567 " in haystack
    assert "966501234567" in haystack


@pytest.mark.parametrize("name, query", [
    ("Crème Brûlée SARL", "CREME"),
    ("Москва Трейд", "москв"),
    ("Москва Трейд", "ТРЕЙД"),
    ("Київ", "КИЇВ"),
    ("株式会社トヨタ", "トヨタ"),
    ("ﾄﾖﾀ", "トヨタ"),
    ("مُحَمَّد للتجارة", "محمد"),
    ("שָׁלוֹם בע\"מ", "שלום"),
    ("Straße 9", "STRASSE"),
    ("İzmir Gıda", "izmir"),
    ("Αθήνα", "ΑΘΗΝΑ"),
])
def test_search_finds_every_script(name, query):
    words = fold(query).split()
    assert words
    assert all(word in search_text(name) for word in words)


@pytest.mark.parametrize("a, b, differ", [
    ("Store 12", "Store 13", True),
    ("Store 12", "Store 12 SARL", False),
    ("Acme", "ACME Inc.", False),
    ("Acme", "Acme 2", True),
    ("Unit 007", "Unit 7", False),  # the same number
    ("Store 1 2", "Store 12", True),
    ("3M France", "4M France", True),
    ("Store ١٢", "Store 12", False),  # Arabic-Indic digits are the same numbers
    ("Магазин 5", "Магазин 6", True),
    ("Magasin n°5", "Magasin N° 5", False),
])
def test_numbers_differ(a, b, differ):
    assert numbers_differ(a, b) is differ


def test_vat_key():
    assert vat_key("fr 12-345 678 901") == "FR12345678901"


def test_turkish_capital_i_with_dot_loses_its_dot():
    assert "İ".casefold() == "i\u0307"  # what str.casefold gives: the dot is a combining mark
    assert fold("İ") == fold("I") == fold("i") == "i"
