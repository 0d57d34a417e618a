"""`/crm search` and `/crm show` over 1,000,000 third parties on PostgreSQL (BENCHMARKS.md).

The data, on a fresh database: third parties named in several scripts (Latin with accents,
Cyrillic, Greek, CJK), from made-up words (each in few names) and common ones (each in
many), most with a town and an email, a fifth with one or two contacts; the folded columns
and search text are computed by crm.normalize and crm.search as the product does. Rows are
COPYed into the schema before migration 0006, which then builds the search indexes over
them (and 0011 the index of their words), as on an installation upgrading.

Queries, in equal shares: exact codes, name prefixes, words inside names, names typed
without accents, one-letter typos, towns, emails, rare terms and common terms. Each runs
through `crm.search.find` (the page of 10 and the true total), and beside it the baseline:
`ILIKE '%term%'` over name, alias, email and town with LIMIT 10, on the same rows in the
same run. Then `/crm show` resolution (`crm.thirdparties.resolve`) of codes and exact names.
Targets: search 95th percentile under 50 ms and at least 50x faster than the baseline's;
resolution 95th percentile under 10 ms.

Generating the rows takes minutes. While iterating, CRM_BENCH_SEARCH_DATABASE=NAME keeps
them: the database NAME on the server is filled on the first run and left in place, later
runs migrate it to the latest schema and search it again (queries are drawn from its rows,
as from fresh ones). A database of that name without all the rows is dropped and refilled.
"""
from __future__ import annotations

import os
import random
import statistics
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from crm import clock, db as crm_db, search, thirdparties
from crm.context import Context
from crm.errors import Ambiguous
from crm.normalize import fold, name_key
from crm.permissions import Actor
from crm.settings import Settings
from tests.database import create_postgres_database, drop_postgres_database

ROWS = 1_000_000
BATCH = 20_000  # rows a COPY sends at once
QUERIES_PER_KIND = 20
RESOLUTIONS_PER_KIND = 100
SAMPLE_EVERY = 997  # rows kept aside to draw queries from
BEFORE_INDEXES = "0005_commercial_documents"
TARGET_P95 = 0.050  # seconds
TARGET_SPEEDUP = 50.0
TARGET_RESOLVE_P95 = 0.010
ACTOR = Actor("UBENCH")
CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)

THIRDPARTY_COLUMNS = (
    "created_at", "updated_at", "created_by", "updated_by", "code", "name", "name_fold", "name_key", "alias",
    "type", "status", "email", "email_key", "phone", "website", "address", "zip", "town", "country", "language",
    "vat_id", "vat_key", "note_public", "note_private", "search_text")
CONTACT_COLUMNS = (
    "thirdparty_id", "first_name", "last_name", "job_title", "email", "phone", "address", "zip", "town", "country",
    "language", "note", "default_roles", "created_at", "updated_at", "created_by", "updated_by")
BASELINE = ("SELECT id FROM crm_thirdparty WHERE name ILIKE $1 OR alias ILIKE $1 OR email ILIKE $1 "
            "OR town ILIKE $1 LIMIT 10")

# Syllables of the made-up words, and the common words, of each script.
SCRIPTS = {
    "latin": (0.6, "ba ré lo mi tan vel cor sü né ka dor bel fa gi ro lé mon tè vi zar qu ès pa lu".split(),
              "Services Group Conseil Société Générale Industrie Bâtiment Café Hôtel Technologies Transport "
              "Immobilier Boulangerie Pâtisserie Garage Santé Énergie Paris Nord".split(),
              ["SARL", "GmbH", "SA", "Ltd", "Inc", "SAS"]),
    "cyrillic": (0.15, "ба ро ми тан вел кор не ка дор бел фа ги ле мон ви зар".split(),
                 "Строй Торговый Дом Технологии Сервис Восток Энергия Альфа".split(), ["ООО", "АО", "ИП"]),
    "greek": (0.1, "βα ρο μι ταν βελ κορ νε κα δορ λε μον βι ζαρ".split(),
              "Εμπορική Τεχνική Ναυτιλιακή Κατασκευές Ελληνική".split(), ["ΑΕ", "ΕΠΕ"]),
    "cjk": (0.15, list("東京大阪北上海深名古屋京都銀行電子科技貿易物産製作山田中村木林森川本金光明新華"),
            [], ["株式会社", "有限公司", "商事"]),
}
TOWNS = ("Paris Lyon Marseille Montréal Zürich Genève Köln München Málaga Sevilla Kraków Łódź Москва "
         "Санкт-Петербург Новосибирск Αθήνα Θεσσαλονίκη 東京 大阪 北京 上海 Bordeaux Nîmes Besançon Orléans "
         "Saint-Étienne Québec Liège Bruxelles Luxembourg").split()
FIRST_NAMES = "Jürgen Zoë Chloé Hélène José Søren Иван Ольга Νίκος Μαρία Anne Pierre Léa Hugo Ana João".split()
LAST_NAMES = "Müller Núñez Dupont Lefèvre García Øster Иванов Смирнова Παπαδόπουλος Martin Bernard Moreau".split()


def ascii_letters(text: str) -> str:
    """What an address built from a name holds: its folded Latin letters, or a transliteration stand-in."""
    folded = "".join(c for c in fold(text) if c.isascii() and c.isalnum())
    return folded or "co"


@dataclass
class Generated:
    """What the generator kept aside to draw queries from."""

    samples: list[dict] = field(default_factory=list)
    rare_words: list[str] = field(default_factory=list)
    common_words: list[str] = field(default_factory=list)


def made_up_word(rng: random.Random, syllables: list[str]) -> str:
    return "".join(rng.choice(syllables) for _ in range(rng.choice((2, 3, 3, 4))))


def company(rng: random.Random) -> str:
    """A company name in one of the scripts: a made-up word, maybe a common word and a legal form."""
    script = rng.choices(list(SCRIPTS), weights=[share for share, *_ in SCRIPTS.values()])[0]
    _, syllables, common, forms = SCRIPTS[script]
    if script == "cjk":
        return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) + rng.choice(forms)
    words = [made_up_word(rng, syllables).capitalize()]
    if rng.random() < 0.5:
        words.insert(rng.randint(0, 1), rng.choice(common))
    if rng.random() < 0.3:
        words.append(rng.choice(forms))
    return " ".join(words)


def thirdparty(number: int, rng: random.Random) -> tuple[tuple, list[tuple]]:
    """The row of the `number`th third party (from 0) and its contacts' rows."""
    name = company(rng)
    code = f"CU{2401 + number // 90_000}-{number % 90_000 + 1:05}"
    domain = ascii_letters(name.split()[0]) + f"{number % 97}.example"
    email = f"{rng.choice(('info', 'contact', 'ventes', 'office'))}@{domain}" if rng.random() < 0.6 else ""
    town = rng.choice(TOWNS) if rng.random() < 0.7 else ""
    contacts = []
    if rng.random() < 0.2:
        for _ in range(rng.choice((1, 1, 2))):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            contacts.append({"first_name": first, "last_name": last, "phone": "",
                             "email": f"{ascii_letters(first)}.{ascii_letters(last)}@{domain}"})
    own = {"name": name, "email": email, "town": town}
    row = (CREATED, CREATED, ACTOR.id, ACTOR.id, code, name, fold(name), name_key(name), "", "customer", "active",
           email, email.lower(), "", "", "", "", town, "", "", "", "", "", "", search.haystack(own, contacts))
    contact_rows = [(number + 1, c["first_name"], c["last_name"], "", c["email"], "", "", "", "", "", "", "", "",
                     CREATED, CREATED, ACTOR.id, ACTOR.id) for c in contacts]
    return row, contact_rows


async def generate(url: str, rows: int) -> None:
    """`rows` third parties COPYed into the database at `url` (ids 1…rows, in order)."""
    rng = random.Random(2611)
    connection = await asyncpg.connect(url)
    try:
        for start in range(0, rows, BATCH):
            batch, contacts = [], []
            for number in range(start, min(start + BATCH, rows)):
                row, contact_rows = thirdparty(number, rng)
                batch.append(row)
                contacts += contact_rows
            await connection.copy_records_to_table("crm_thirdparty", records=batch, columns=THIRDPARTY_COLUMNS)
            await connection.copy_records_to_table("crm_contact", records=contacts, columns=CONTACT_COLUMNS)
    finally:
        await connection.close()


async def kept_aside(connection: asyncpg.Connection) -> Generated:
    """Every SAMPLE_EVERY-th generated row, read back, and the words to draw queries from."""
    rows = await connection.fetch(f"SELECT {', '.join(THIRDPARTY_COLUMNS)} FROM crm_thirdparty "
                                  f"WHERE id % {SAMPLE_EVERY} = 1 ORDER BY id")
    kept = Generated(samples=[dict(row) for row in rows],
                     common_words=[w for _, _, common, _ in SCRIPTS.values() for w in common])
    kept.rare_words = [word for sample in kept.samples for word in sample["name"].split()
                       if word not in kept.common_words and len(word) >= 6][:QUERIES_PER_KIND * 4]
    return kept


def unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def typo(word: str, rng: random.Random) -> str:
    """`word` with one letter changed, dropped or doubled, away from its first letter."""
    at = rng.randrange(1, len(word))
    return rng.choice((word[:at] + "x" + word[at + 1:], word[:at] + word[at + 1:], word[:at] + word[at] + word[at:]))


def query_mix(kept: Generated) -> dict[str, list[str]]:
    """QUERIES_PER_KIND texts of each kind, as people would type them."""
    rng = random.Random(28)
    named = [s for s in kept.samples if " " in s["name"]]
    latin = [s for s in named if s["name"] != unaccented(s["name"])]
    long_words = [w for s in kept.samples for w in s["name"].split() if len(w) >= 6 and w not in kept.common_words]

    def draw(items: list) -> list:
        return rng.sample(items, QUERIES_PER_KIND)

    return {
        "exact codes": [s["code"] for s in draw(kept.samples)],
        "name prefixes": [s["name"][:rng.randint(4, 6)] for s in draw(kept.samples)],
        "words inside names": [s["name"].split()[-1] for s in draw(named)],
        "unaccented names": [unaccented(s["name"]) for s in draw(latin)],
        "one-letter typos": [typo(w, rng) for w in draw(long_words)],
        "towns": draw(list(TOWNS)),
        "emails": [s["email"] for s in draw([s for s in kept.samples if s["email"]])],
        "rare terms": draw(kept.rare_words),
        "common terms": [rng.choice(kept.common_words) for _ in range(QUERIES_PER_KIND)],
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Timings:
    seconds: dict[str, list[float]] = field(default_factory=dict)  # kind -> one per query
    timed_out: list[str] = field(default_factory=list)  # past the query timeout (crm.db): counted at their time

    @property
    def all(self) -> list[float]:
        return [s for kind in self.seconds.values() for s in kind]

    def median(self) -> float:
        return statistics.median(self.all)

    def p95(self) -> float:
        return percentile(self.all, 0.95)


@dataclass
class SearchResult:
    rows: int
    generation_seconds: float
    index_seconds: float
    ours: Timings
    baseline: Timings
    resolve: Timings
    totals: dict[str, list[int]]  # kind -> our true total per query

    @property
    def speedup(self) -> float:
        return self.baseline.p95() / self.ours.p95()

    def targets_met(self) -> tuple[bool, bool]:
        search_met = self.ours.p95() < TARGET_P95 and self.speedup >= TARGET_SPEEDUP and not self.ours.timed_out
        return search_met, self.resolve.p95() < TARGET_RESOLVE_P95 and not self.resolve.timed_out

    def summary_rows(self) -> list[tuple[str, ...]]:
        search_met, resolve_met = self.targets_met()
        return [
            (f"search, {self.rows:,} third parties, p95", _ms(self.ours.p95()), _ms(self.baseline.p95()),
             f"{self.speedup:.0f}x faster", f"< 50 ms, >= {TARGET_SPEEDUP:g}x", "yes" if search_met else "NO"),
            (f"/crm show resolution, {self.rows:,}, p95", _ms(self.resolve.p95()), "-", "-", "< 10 ms",
             "yes" if resolve_met else "NO"),
        ]

    def detail_rows(self) -> list[tuple[str, ...]]:
        rows = [("search query kind", "ours median", "ours p95", "ILIKE median", "ILIKE p95", "median total")]
        for kind, seconds in self.ours.seconds.items():
            baseline = self.baseline.seconds[kind]
            rows.append((kind, _ms(statistics.median(seconds)), _ms(percentile(seconds, 0.95)),
                         _ms(statistics.median(baseline)), _ms(percentile(baseline, 0.95)),
                         f"{statistics.median(self.totals[kind]):,.0f}"))
        rows.append(("all", _ms(self.ours.median()), _ms(self.ours.p95()), _ms(self.baseline.median()),
                     _ms(self.baseline.p95()), "-"))
        for kind, seconds in self.resolve.seconds.items():
            rows.append((f"resolve {kind}", _ms(statistics.median(seconds)), _ms(percentile(seconds, 0.95)),
                         "-", "-", "-"))
        for failed in self.ours.timed_out + self.resolve.timed_out:
            rows.append((f"timed out: {failed}", "", "", "", "", ""))
        return rows

    def as_json(self) -> dict:
        search_met, resolve_met = self.targets_met()
        return {
            "rows": self.rows, "generation_seconds": self.generation_seconds, "index_seconds": self.index_seconds,
            "ours_median_seconds": self.ours.median(), "ours_p95_seconds": self.ours.p95(),
            "baseline_median_seconds": self.baseline.median(), "baseline_p95_seconds": self.baseline.p95(),
            "speedup_p95": self.speedup, "speedup_median": self.baseline.median() / self.ours.median(),
            "target_p95_seconds": TARGET_P95, "target_speedup": TARGET_SPEEDUP, "search_target_met": search_met,
            "resolve_median_seconds": self.resolve.median(), "resolve_p95_seconds": self.resolve.p95(),
            "resolve_target_p95_seconds": TARGET_RESOLVE_P95, "resolve_target_met": resolve_met,
            "timed_out": self.ours.timed_out + self.resolve.timed_out,
            "by_kind": {kind: {"ours_median": statistics.median(s), "ours_p95": percentile(s, 0.95),
                               "baseline_median": statistics.median(self.baseline.seconds[kind]),
                               "baseline_p95": percentile(self.baseline.seconds[kind], 0.95),
                               "totals": self.totals[kind]} for kind, s in self.ours.seconds.items()},
        }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def measure(server_url: str, rows: int = ROWS) -> SearchResult:
    kept_name = os.environ.get("CRM_BENCH_SEARCH_DATABASE")
    url, filled = (await _kept_database(server_url, kept_name, rows) if kept_name
                   else (await create_postgres_database(server_url, prefix="crm_bench"), False))
    try:
        await crm_db.connect(url)
        try:
            return await _measure(url, rows, filled)
        finally:
            await crm_db.close()
    finally:
        if not kept_name:
            await drop_postgres_database(url)


async def _kept_database(server_url: str, name: str, rows: int) -> tuple[str, bool]:
    """The URL of the database `name` on the server, and whether it already holds the `rows` third parties."""
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    admin = await asyncpg.connect(server_url)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            if await _thirdparty_count(url) == rows:
                return url, True
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        return url, False
    finally:
        await admin.close()


async def _thirdparty_count(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        if not await connection.fetchval("SELECT to_regclass('crm_thirdparty') IS NOT NULL"):
            return 0
        return await connection.fetchval("SELECT COUNT(*) FROM crm_thirdparty")
    finally:
        await connection.close()


async def _measure(url: str, rows: int, filled: bool) -> SearchResult:
    started = time.perf_counter()
    if filled:
        print(f"  reusing the {rows:,} third parties of {urlsplit(url).path.lstrip('/')}…", flush=True)
    else:
        await crm_db.upgrade(url, target=BEFORE_INDEXES)
        print(f"  generating {rows:,} third parties…", flush=True)
        await generate(url, rows)
    generated = time.perf_counter()
    print(f"  generated in {generated - started:.0f} s; migrating (search indexes)…", flush=True)
    await crm_db.upgrade(url)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM ANALYZE")  # as autovacuum would have by then: statistics, visibility map
        indexed = time.perf_counter()
        print(f"  indexed in {indexed - generated:.0f} s; searching…", flush=True)
        kept = await kept_aside(connection)
        mix = query_mix(kept)
        ctx = Context(ACTOR, Settings(database_url=url), clock)
        ours, totals = await _time_ours(ctx, mix)
        baseline = await _time_baseline(connection, mix)
    finally:
        await connection.close()
    resolve = await _time_resolve(ctx, kept)
    return SearchResult(rows, generated - started, indexed - generated, ours, baseline, resolve, totals)


async def _time_ours(ctx: Context, mix: dict[str, list[str]]) -> tuple[Timings, dict[str, list[int]]]:
    for texts in mix.values():  # warm-up: the first use of each index reads it into memory
        await _timed(Timings(), "warm-up", search.find(ctx, texts[0]), texts[0])
    timings, totals = Timings(), {}
    for kind, texts in mix.items():
        for text in texts:
            page = await _timed(timings, kind, search.find(ctx, text), text)
            totals.setdefault(kind, []).append(page.total if page else -1)
    return timings, totals


async def _timed(timings: Timings, kind: str, work, text: str):
    """What `work` answers, its time added to `timings`; None when the database timed out."""
    started = time.perf_counter()
    try:
        return await work
    except Exception as error:
        if not crm_db.is_unavailable(error):
            raise
        timings.timed_out.append(f"{kind}: {text}")
        return None
    finally:
        timings.seconds.setdefault(kind, []).append(time.perf_counter() - started)


async def _time_baseline(connection: asyncpg.Connection, mix: dict[str, list[str]]) -> Timings:
    timings = Timings()
    for kind, texts in mix.items():
        for text in texts:
            started = time.perf_counter()
            await connection.fetch(BASELINE, f"%{text}%")
            timings.seconds.setdefault(kind, []).append(time.perf_counter() - started)
    return timings


async def _time_resolve(ctx: Context, kept: Generated) -> Timings:
    rng = random.Random(11)
    refs = {"codes": [s["code"] for s in rng.sample(kept.samples, RESOLUTIONS_PER_KIND)],
            "exact names": [s["name"] for s in rng.sample(kept.samples, RESOLUTIONS_PER_KIND)]}
    timings = Timings()
    for kind, texts in refs.items():
        for text in texts:
            await _timed(timings, kind, _resolve(ctx, text), text)
    return timings


async def _resolve(ctx: Context, ref: str) -> None:
    try:
        await thirdparties.resolve(ctx, ref)
    except Ambiguous:  # two records of one name: the answer lists them, as quickly
        pass
