"""Codes and document refs written in a message (a mention of the app, a link that unfurls).

Only exact codes and refs are looked up, never names: a word of a sentence must not pick a
customer by the start of its name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from crm import records
from crm.context import Context
from crm.documents import service as documents
from crm.errors import Ambiguous, NotFound, ValidationError
from crm.permissions import visible_thirdparties
from crm.records import DocumentRecord, ThirdPartyRecord

MAX_WORDS = 10  # refs answered per message: a pasted list gets its first ten
# A code or a ref holds a digit and a letter (CU2611-00001, PR2611-0004) or is a draft's (PROV12)
LOOKS_LIKE_REF = re.compile(r"(?=[^\s]*\d)(?=[^\s]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9_./-]{2,63}")
TRIMMED = "\"'“”‘’.,;:!?()[]{}*_~`"


@dataclass(frozen=True)
class Mentioned:
    """One word that looks like a code or a ref, and what it names, if anything."""

    word: str
    thirdparty: ThirdPartyRecord | None = None
    document: DocumentRecord | None = None


def ref_words(text: str) -> list[str]:
    """The words of `text` that look like codes or refs, each once, in order."""
    words = []
    for raw in text.split():
        word = raw.strip(TRIMMED)
        if word.upper().startswith("PROV") and word[4:].isdigit() or LOOKS_LIKE_REF.fullmatch(word):
            words.append(word)
    return list(dict.fromkeys(words))[:MAX_WORDS]


async def by_code(ctx: Context, code: str) -> ThirdPartyRecord | None:
    """The third party with this exact code (or a code merged into it), if the actor may see it."""
    scope = visible_thirdparties(ctx.actor)
    row = await scope.filter(code__iexact=code).first() or await scope.filter(aliases__code__iexact=code).first()
    return records.thirdparty(row) if row else None


async def find(ctx: Context, text: str) -> list[Mentioned]:
    """Each code-like word of `text`, with the third party or document it is the code or ref of."""
    found = []
    for word in ref_words(text):
        thirdparty = await by_code(ctx, word)
        found.append(Mentioned(word, thirdparty=thirdparty) if thirdparty else
                     Mentioned(word, document=await _document(ctx, word)))
    return found


async def _document(ctx: Context, ref: str) -> DocumentRecord | None:
    try:
        return await documents.resolve(ctx, ref)
    except (NotFound, Ambiguous, ValidationError):  # not a ref of one document the actor may see
        return None
