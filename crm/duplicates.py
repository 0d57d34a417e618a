"""Likely duplicate third parties (`/crm duplicates`): pairs sharing an email, a VAT id, a
phone number (as a number: crm.phones) or a normalised name, or with names alike (legal forms, case, accents and punctuation set aside), each with its reason
and a score, found through the indexed keys rather than by comparing every pair."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from rapidfuzz.distance import Indel
from tortoise import connections

from crm import records
from crm.context import Context
from crm.db import sql
from crm.normalize import numbers_differ
from crm.permissions import visible_thirdparties
from crm.records import ThirdPartyRecord
from crm.thirdparties import SIMILAR_NAME_RATIO

MAX_PAIRS = 20
# The keys two records may share, how sure a shared one makes us, and how to say it.
KEYS = (("email_key", 0.95, "same email"), ("vat_key", 0.95, "same VAT id"), ("phone_key", 0.9, "same phone"),
        ("name_key", 0.85, "same name"))
SIMILAR = "similar name"
BATCH = 5000
# Each name is compared with the few different names just before it in the order of the
# name_key index (a sorted neighbourhood): a typo or a word more sorts next to the original
# however many names share its start; one in the first letters is not found this way.
WINDOW = 8
NAMES_AFTER = ("SELECT id, name_key FROM crm_thirdparty "
               "WHERE name_key <> '' AND (name_key > ? OR (name_key = ? AND id > ?)) ORDER BY name_key, id LIMIT ?")
PAIRS_SHARING = ("SELECT a.id AS first, b.id AS second FROM crm_thirdparty a JOIN crm_thirdparty b "
                 "ON a.{key} = b.{key} AND a.id < b.id WHERE a.{key} <> '' ORDER BY a.id, b.id LIMIT ?")


@dataclass(frozen=True)
class Pair:
    first: ThirdPartyRecord  # the older one, which a merge keeps by default
    second: ThirdPartyRecord
    reasons: tuple[str, ...]
    score: float


async def likely_pairs(ctx: Context, limit: int = MAX_PAIRS) -> list[Pair]:
    """The likeliest pairs the actor may see, surest first."""
    connection = connections.get("default")
    found: dict[tuple[int, int], tuple[list[str], float]] = {}
    for key, score, reason in KEYS:
        rows = await connection.execute_query_dict(sql(connection, PAIRS_SHARING.format(key=key)), [limit * 5])
        for row in rows:
            reasons, best = found.get((row["first"], row["second"]), ([], 0.0))
            found[(row["first"], row["second"])] = (reasons + [reason], max(best, score))
    for first, second, ratio in await _similar_names(connection, limit * 5):
        if (first, second) not in found:
            found[(first, second)] = ([SIMILAR], round(0.6 + 0.25 * ratio, 2))
    ids = {i for pair in found for i in pair}
    visible = {row.id: row for row in await visible_thirdparties(ctx.actor).filter(id__in=ids)}
    pairs = []
    for (first, second), (reasons, score) in found.items():
        if first not in visible or second not in visible:
            continue
        if reasons in (["same name"], [SIMILAR]) and numbers_differ(visible[first].name, visible[second].name):
            continue  # Store 12 and Store 13
        combined = min(0.99, score + 0.04 * (len(reasons) - 1))
        pairs.append(Pair(records.thirdparty(visible[first]), records.thirdparty(visible[second]), tuple(reasons),
                          round(combined, 2)))
    pairs.sort(key=lambda pair: (-pair.score, pair.first.id, pair.second.id))
    return pairs[:limit]


async def _similar_names(connection, limit: int) -> list[tuple[int, int, float]]:
    """Pairs whose normalised names are alike but not equal (a typo, a word more), found in one
    pass over the name_key index."""
    pairs: list[tuple[int, int, float]] = []
    recent: deque[tuple[int, str]] = deque(maxlen=WINDOW)
    after = ("", 0)
    while len(pairs) < limit:
        rows = await connection.execute_query_dict(sql(connection, NAMES_AFTER),
                                                   [after[0], after[0], after[1], BATCH])
        for row in rows:
            key = row["name_key"]
            if recent and recent[-1][1] == key:
                continue  # the same name: paired by its key already
            pairs += _alike(row["id"], key, recent)
            recent.append((row["id"], key))
        if len(rows) < BATCH:
            break
        after = (rows[-1]["name_key"], rows[-1]["id"])
    return pairs[:limit]


def _alike(new_id: int, new_key: str, recent) -> list[tuple[int, int, float]]:
    """The names of `recent` alike enough to `new_key` (rapidfuzz's Indel similarity, the ratio
    of difflib's SequenceMatcher computed in C: a million names take seconds, not a minute)."""
    found = []
    for other_id, other_key in recent:
        ratio = Indel.normalized_similarity(other_key, new_key, score_cutoff=SIMILAR_NAME_RATIO)
        if ratio:
            found.append((min(other_id, new_id), max(other_id, new_id), ratio))
    return found
