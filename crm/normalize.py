"""Normal forms used to compare what people type: names, VAT ids, search text.

Every script folds: Latin, Cyrillic, Greek, Arabic, Hebrew, CJK, kana… `fold` applies, in
this order,

1. NFKC: compatibility forms become plain ones (full-width `Ａ１` is `A1`, half-width `ｱ`
   is `ア`, the ligature `ﬁ` is `fi`, `²` is `2`);
2. `str.casefold`: `Straße` is `strasse`, `ΟΔΟΣ` and `οδός` both end in `σ`;
3. marks stripped: NFKD, every combining mark (categories Mn, Mc, Me) dropped, NFC again.
   This removes Latin accents, Arabic harakat, Hebrew niqqud, the dot of Turkish `İ`
   (casefolded to `i` + U+0307), the kana voicing marks (`ガ` is `カ`), the breve of `й`
   (`и`). It also drops the vowel signs of Indic and Thai scripts: lossy, but both sides of
   a comparison fold alike. The Turkish dotless `ı` goes to `i` too, as its capital `I`
   does: `GIDA` and `Gıda` match;
4. digits of every script (category Nd: Arabic-Indic `٣`, Persian `۳`, Devanagari `३`…)
   become ASCII `0-9`, so a phone number typed either way is found;
5. invisible in-word characters are dropped rather than splitting the word: the soft
   hyphen, the zero-width (non-)joiner, the word joiner, the byte-order mark and the Arabic
   tatweel `ـ`; a Hebrew acronym mark (`"`, `״`, `'`, `׳`, `”` between two Hebrew letters)
   goes too, so `בע"מ` is the one word `בעמ`;
6. what remains is split into runs of letters and digits (categories L* and N*; `_` and
   everything else separates), joined with single spaces.

Pure-ASCII text, by far the most common, takes a shortcut with the same result.
"""
import re
import unicodedata

# Legal-form words that do not make two company names different, compared after `fold`
# and with dots removed ("S.A.R.L." is "sarl", "О.О.О." is "ооо"). Non-Latin ones: Russian
# ООО ОАО ЗАО ПАО АО ИП (and OOO ZAO OAO typed in Latin letters), Ukrainian ТОВ, Bulgarian
# ООД ЕООД, Greek ΑΕ ΕΠΕ ΙΚΕ ΟΕ ΕΕ, Hebrew בע"מ. CJK forms (株式会社, 有限公司) are written
# without spaces, inside the name's one run, so they are left alone.
LEGAL_FORMS = frozenset(
    "sa sas sasu sarl eurl sci snc gmbh ag kg ug ltd limited llc llp inc incorporated corp "
    "corporation co company plc bv nv srl spa sl oy ab as aps "
    "ooo zao oao ооо оао зао пао ао ип тов оод еоод αε επε ικε οε εε בעמ".split()
)

# Letters and digits of every script: in Python's `re`, `\w` is exactly categories L* and N*
# plus `_` (checked in tests/test_normalize.py).
_WORD = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"[0-9]+")
_NOT_DIGIT = re.compile(r"[^0-9]+")
_OTHER_DIGIT = re.compile(r"[^\D0-9]")  # a decimal digit (category Nd) that is not ASCII
_HEBREW_ACRONYM = re.compile("[\"'\u05f3\u05f4\u201d](?<=[\u05d0-\u05ea].)(?=[\u05d0-\u05ea])")
_INVISIBLE = "\u00ad\u200c\u200d\u2060\ufeff\u0640"
# Combining marks and digits other than ASCII all lie in these ranges; the code points
# left out are CJK ideographs, Hangul syllables, surrogates and private use (which
# tests/test_normalize.py checks against every code point).
_SCANNED = (range(0x3400), range(0x4DC0, 0x4E00), range(0xA000, 0xAC00), range(0xD7A4, 0xD800),
            range(0xF900, 0x20000), range(0xE0000, 0xE1000))


def _class(codes: list[int]) -> str:
    """A regex character class body for `codes` (sorted), as ranges."""
    spans: list[list[int]] = []
    for code in codes:
        if spans and spans[-1][1] == code - 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return "".join(re.escape(chr(first)) + (f"-{re.escape(chr(last))}" if last > first else "")
                   for first, last in spans)


def _tables() -> tuple[re.Pattern, dict[int, int]]:
    """What to delete (combining marks M* and the invisible in-word characters) and the
    `str.translate` table of the digits (category Nd) other than ASCII to ASCII.

    `re` tests a character against a class of BMP characters in one step, but against
    astral ranges one range at a time: the astral marks get their own branch, entered only
    for an astral character, so that the common text pays for one lookup a character.
    """
    dropped, digits = set(map(ord, _INVISIBLE)), {}
    for scanned in _SCANNED:
        for code in scanned:
            category = unicodedata.category(chr(code))
            if category[0] == "M":
                dropped.add(code)
            elif category == "Nd" and code > 0x7F:
                digits[code] = ord("0") + unicodedata.decimal(chr(code))
    bmp = _class(sorted(code for code in dropped if code <= 0xFFFF))
    astral = _class(sorted(code for code in dropped if code > 0xFFFF))
    return re.compile(f"[{bmp}]+|[\U00010000-\U0010ffff](?<=[{astral}])"), digits


_DROPPED, _ASCII_DIGITS = _tables()


def _plain(text: str) -> str:
    """Steps 1 to 5 of `fold`: the text, normalised, before it is split into words."""
    if text.isascii():
        return text.lower()  # NFKC and mark stripping change no ASCII text; casefold is lower
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = unicodedata.normalize("NFC", _DROPPED.sub("", text)).replace("\u0131", "i")
    if text.isascii():  # accented Latin usually is, once its accents are gone
        return text
    if _OTHER_DIGIT.search(text):
        text = text.translate(_ASCII_DIGITS)
    return _HEBREW_ACRONYM.sub("", text)


def fold(text: str) -> str:
    """Case, accents and marks folded, digits ASCII, every run of letters and digits of
    any script kept, one space between runs: "Crème Brûlée SARL" is "creme brulee sarl"."""
    return " ".join(_WORD.findall(_plain(text)))


def name_key(name: str) -> str:
    """A company name reduced to what identifies it: "ACME, S.A.R.L." and "Acme" match."""
    words = _WORD.findall(_plain(name).replace(".", ""))
    kept = [word for word in words if word not in LEGAL_FORMS]
    return " ".join(kept or words)


def numbers_differ(a: str, b: str) -> bool:
    """Whether two names carry different numbers: "Store 12" and "Store 13" do, "Store 12"
    and "Store 12 SARL" do not. The runs of digits of the folds are compared in order, as
    numbers ("Unit 007" and "Unit 7" carry the same one)."""
    return _numbers(a) != _numbers(b)


def _numbers(text: str) -> list[str]:
    return [run.lstrip("0") or "0" for run in _NUMBER.findall(fold(text))]


def vat_key(vat_id: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", vat_id.upper())


def search_text(*parts: str) -> str:
    """The folded haystack `/crm search` matches words against; phones also digits-only."""
    pieces = []
    for part in parts:
        if part:
            folded = fold(part)
            pieces.append(folded)
            digits = _NOT_DIGIT.sub("", folded)
            if len(digits) >= 4:
                pieces.append(digits)
    return " " + " | ".join(pieces) + " "
