"""Likely duplicate third parties (`/crm duplicates`): pairs sharing an email, a VAT id, a
phone number (as a number: crm.phones) or a normalised name (legal forms, case, accents and punctuation set aside), each with its reason
and a score, found through the indexed keys rather than by comparing every pair."""
from __future__ import annotations

from dataclasses import dataclass

from tortoise import connections

from crm import records
from crm.context import Context
from crm.db import sql
from crm.normalize import numbers_differ
from crm.permissions import visible_thirdparties
from crm.records import ThirdPartyRecord

MAX_PAIRS = 20
# The keys two records may share, how sure a shared one makes us, and how to say it.
KEYS = (("email_key", 0.95, "same email"), ("vat_key", 0.95, "same VAT id"), ("phone_key", 0.9, "same phone"),
        ("name_key", 0.85, "same name"))
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
    ids = {i for pair in found for i in pair}
    visible = {row.id: row for row in await visible_thirdparties(ctx.actor).filter(id__in=ids)}
    pairs = []
    for (first, second), (reasons, score) in found.items():
        if first not in visible or second not in visible:
            continue
        if reasons == ["same name"] and numbers_differ(visible[first].name, visible[second].name):
            continue  # Store 12 and Store 13
        combined = min(0.99, score + 0.04 * (len(reasons) - 1))
        pairs.append(Pair(records.thirdparty(visible[first]), records.thirdparty(visible[second]), tuple(reasons),
                          round(combined, 2)))
    pairs.sort(key=lambda pair: (-pair.score, pair.first.id, pair.second.id))
    return pairs[:limit]
