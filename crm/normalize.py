"""Normal forms used to compare what people type: names, VAT ids, search text."""
import re
import unicodedata

# Legal-form words that do not make two company names different.
LEGAL_FORMS = frozenset(
    "sa sas sasu sarl eurl sci snc gmbh ag kg ug ltd limited llc llp inc incorporated corp "
    "corporation co company plc bv nv srl spa sl oy ab as aps".split()
)


def fold(text: str) -> str:
    """Lower-case, accents removed, every run of non-alphanumerics one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[0-9a-z]+", plain.casefold()))


def name_key(name: str) -> str:
    """A company name reduced to what identifies it: "ACME, S.A.R.L." and "Acme" match."""
    words = fold(name.replace(".", "")).split()
    kept = [word for word in words if word not in LEGAL_FORMS]
    return " ".join(kept or words)


def vat_key(vat_id: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", vat_id.upper())


def search_text(*parts: str) -> str:
    """The folded haystack `/crm search` matches words against; phones also digits-only."""
    pieces = []
    for part in parts:
        if part:
            pieces.append(fold(part))
            digits = re.sub(r"\D", "", part)
            if len(digits) >= 4:
                pieces.append(digits)
    return " " + " | ".join(pieces) + " "
