"""`/crm search` (SPEC §3): best matches on name, alias, code, email, phone, town, contact
names and emails, in every script, ranked in the database over every match.

Each third party keeps a folded haystack of its own fields and its contacts' (`search_text`,
see crm.normalize). A record matches when each folded word of the query is inside its
haystack or its code, or is one letter away from a whole word of its haystack (a letter
changed, missing or extra: "socete" finds "société"). Typos (of words of MIN_FUZZY letters or
more) are looked for only when the text as typed matches nothing, or, for a single word, less
than a page: a word that many records hold is no typo, and each of a word's one-letter
neighbours costs the query an index scan (over 1,000,000 rows, about 4 ms each).

Ranks, best first: the exact code, the exact name, names starting with the text, names
holding it, every word found elsewhere, then the one-letter typos; by folded name within a
rank. Indexes (migration 0006) find the words: pg_trgm's GIN trigram indexes on PostgreSQL;
on SQLite an FTS5 trigram table for the search text and the UPPER(code) index for codes.

A word that tens of thousands of records hold (a town, a common word) costs the trigram index
a read of each of their rows. On PostgreSQL, a one-word search (of TRIGRAM letters or more, no
code holding it) by someone who sees every record is answered from an index of the records' words
instead (migration 0011): the vocabulary words holding it, then their records, counted and ranked from
that index alone (a town's 23,000 of 1,000,000 records: ~20 ms rather than ~200); its typos are
the vocabulary words one letter away from it (~2 ms rather than ~4 ms for each neighbour).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tortoise import connections
from tortoise.transactions import in_transaction

from crm import phones, records, validators
from crm.context import Context, UnitOfWork
from crm.db import sql
from crm.errors import ValidationError
from crm.normalize import fold, search_text
from crm.permissions import visible_thirdparties
from crm.records import ThirdPartyRecord
from models import Contact, ThirdParty

MAX_WORDS = 12  # more words narrow nothing further, and each costs the query a condition
PAGE_SIZE = 10
MAX_TEXT = 300  # characters: a page's Previous and Next buttons carry the text (Slack: 2,000 a value)
MIN_FUZZY = 4  # one letter off a shorter word matches too much to be a typo
TYPOS_BELOW = PAGE_SIZE  # records matching a single word as typed, from which on its typos are not looked for
TRIGRAM = 3  # the trigram indexes find runs of at least this many characters

OWN_FIELDS = ("name", "alias", "email", "phone", "town")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")
# what the query reads from the visible third parties
SEARCHED_COLUMNS = ("id", "code", "name_fold", "name_key", "search_text")


@dataclass(frozen=True)
class SearchPage:
    """One page of the matches of a search, and how many there are in all."""

    text: str
    records: list[ThirdPartyRecord]
    total: int
    offset: int
    page_size: int = PAGE_SIZE

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.page_size, 0) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        following = self.offset + self.page_size
        return following if following < self.total else None


def haystack(own: Mapping[str, str], contacts: Iterable[Mapping[str, str]]) -> str:
    """The search text of a third party's fields (missing ones blank) and its contacts'."""
    parts = [_searchable(name, own.get(name, "")) for name in OWN_FIELDS]
    for contact in contacts:
        parts += [_searchable(name, contact[name]) for name in CONTACT_FIELDS]
    return search_text(*parts)


def _searchable(name: str, value: str) -> str:
    return phones.searchable(value) if name == "phone" else value


async def refresh(uow: UnitOfWork, thirdparty_id: int) -> None:
    """Recompute and store the search text of a third party after it or one of its contacts changed."""
    connection = uow.connection
    own = await ThirdParty.filter(id=thirdparty_id).using_db(connection).first().values(*OWN_FIELDS)
    contacts = await Contact.filter(thirdparty_id=thirdparty_id).using_db(connection).values(*CONTACT_FIELDS)
    await ThirdParty.filter(id=thirdparty_id).using_db(connection).update(search_text=haystack(own, contacts))


def query_words(text: str) -> list[str]:
    """The folded words of a search; too many is an error naming the limit."""
    validators.storable("TEXT", "Search", text)
    words = fold(text).split()
    if len(words) > MAX_WORDS:
        raise ValidationError("TEXT", f"Search with at most {MAX_WORDS} words; yours has {len(words)}.")
    return words


async def find(ctx: Context, text: str, offset: int = 0, page_size: int = PAGE_SIZE) -> SearchPage:
    """The page of matches the actor may see starting at `offset`, best first, with their total."""
    words = query_words(text)
    if len(text) > MAX_TEXT:
        raise ValidationError("TEXT", f"Search with at most {MAX_TEXT} characters; yours has {len(text)}.")
    offset = max(offset, 0)
    if not words:
        return SearchPage(text, [], 0, 0, page_size)
    query = _Query(connections.get("default").capabilities.dialect, ctx, text, words)
    if query.dialect != "postgres":  # a transaction would take SQLite's write lock (crm.sqlite_backend)
        return await _find(connections.get("default"), ctx, query, offset, page_size)
    async with in_transaction() as connection:
        # Plan each search for its own patterns: the plan PostgreSQL otherwise keeps for a statement
        # run often is made for any pattern, and reads the index of every word, common ones too.
        # Nor compile it (JIT): the estimates of a word's matches can pass JIT's threshold, and
        # compiling costs a search more (~15 ms) than it saves.
        await connection.execute_script("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off")
        return await _find(connection, ctx, query, offset, page_size)


async def _find(connection, ctx: Context, query: _Query, offset: int, page_size: int) -> SearchPage:
    indexed = await _by_word_index(connection, query)
    ids, total = await _page_ids(connection, indexed or query, offset, page_size)
    if total < (TYPOS_BELOW if len(query.words) == 1 else 1) and query.typo_candidates():
        query.with_typos = set(query.typo_candidates())
        ids, total = await _page_ids(connection, await indexed.with_typos(connection) if indexed else query,
                                     offset, page_size)
    found = {row.id: row for row in await visible_thirdparties(ctx.actor).filter(id__in=ids).using_db(connection)}
    page = [records.thirdparty(found[i]) for i in ids if i in found]
    return SearchPage(query.text, page, total, offset, page_size)


async def _page_ids(connection, query: _Query | _WordIndexQuery, offset: int, page_size: int) -> tuple[list[int], int]:
    """The ids of a page of matches, best first, and the number of matches."""
    rows = await connection.execute_query_dict(*query.page(offset, page_size))
    if rows:  # the page's rows bear the total
        return [row["id"] for row in rows], rows[0]["total"]
    return [], (await connection.execute_query_dict(*query.count()))[0]["total"]


async def _by_word_index(connection, query: _Query) -> _WordIndexQuery | None:
    """The search through the words index (migration 0011) where it answers as the rows would: on
    PostgreSQL, for an actor who sees every third party (the index does not know the scope), one
    word of TRIGRAM letters or more, that no code holds (a code is not among the indexed words)."""
    if query.dialect != "postgres" or not query.sees_everything or len(query.words) != 1 or len(query.whole) < TRIGRAM:
        return None
    [found] = await connection.execute_query_dict(*query.vocabulary())
    return None if found["in_codes"] else _WordIndexQuery(query, found["words"], [])


async def search(ctx: Context, text: str, limit: int = PAGE_SIZE) -> list[ThirdPartyRecord]:
    """The best `limit` matches the actor may see (typeaheads and short lists)."""
    return (await find(ctx, text, page_size=limit)).records


def one_letter_off(word: str) -> list[str]:
    """LIKE patterns of the words one letter away from `word` (`_` is any letter)."""
    changed = {word[:i] + "_" + word[i + 1:] for i in range(len(word))}
    missing = {word[:i] + "_" + word[i:] for i in range(len(word) + 1)}
    extra = {word[:i] + word[i + 1:] for i in range(len(word))}
    return sorted(changed | missing | extra)


class _Query:
    """The SQL of one search: `?` placeholders, values in lists beside it, never in the text.

    The actor's visible third parties (crm.permissions) are the source every row comes from.
    """

    def __init__(self, dialect: str, ctx: Context, text: str, words: list[str]):
        self.dialect = dialect
        self.text = text
        self.words = words
        self.whole = " ".join(words)
        self.code = text.strip().upper()
        scope = visible_thirdparties(ctx.actor).values(*SEARCHED_COLUMNS)
        # the scope's own placeholders ($1… on PostgreSQL) become `?` like ours, numbered together by crm.db.sql
        self.scope = re.sub(r"\$\d+", "?", scope.sql())
        self.scope_params = list(scope.query.get_parameterized_sql()[1])
        self.sees_everything = scope.sql() == ThirdParty.all().values(*SEARCHED_COLUMNS).sql()
        self.with_typos: set[str] = set()  # the words whose one-letter typos match too

    def typo_candidates(self) -> list[str]:
        return [word for word in self.words if len(word) >= MIN_FUZZY and not word.isdigit()]

    def page(self, offset: int, page_size: int) -> tuple[str, list]:
        rank, rank_params = self._rank()
        where, where_params = self._matching()
        query = (f"WITH visible AS ({self.scope}) SELECT v.id, COUNT(*) OVER () AS total FROM visible v WHERE {where} "
                 f"ORDER BY {rank}, v.name_fold, v.id LIMIT ? OFFSET ?")
        return _numbered(query), [*self.scope_params, *where_params, *rank_params, page_size, offset]

    def count(self) -> tuple[str, list]:
        where, where_params = self._matching()
        query = f"WITH visible AS ({self.scope}) SELECT COUNT(*) AS total FROM visible v WHERE {where}"
        return _numbered(query), [*self.scope_params, *where_params]

    def vocabulary(self) -> tuple[str, list]:
        """The indexed words holding the one word searched, and whether a code holds it or is the text."""
        query = ("SELECT ARRAY(SELECT DISTINCT word FROM crm_search_vocabulary WHERE word LIKE ?) AS words, "
                 "EXISTS (SELECT 1 FROM crm_thirdparty WHERE UPPER(code) = ? OR code ILIKE ?) AS in_codes")
        return _numbered(query), [f"%{self.whole}%", self.code, f"%{self.whole}%"]

    def vocabulary_typos(self) -> tuple[str, list]:
        """The indexed words one letter away from the one word searched: one letter changed, missing or
        extra leaves its first half or its second whole, so they are among the words starting with the
        one or ending with the other, two ranges of the indexes of the words and of their reverse."""
        half = len(self.whole) // 2
        query = ("SELECT ARRAY(SELECT DISTINCT word FROM crm_search_vocabulary "
                 "WHERE (word LIKE ? OR reverse(word) LIKE ?) AND word LIKE ANY(?)) AS words")
        return _numbered(query), [self.whole[:half] + "%", self.whole[half:][::-1] + "%", one_letter_off(self.whole)]

    def name_ranks(self) -> tuple[str, list]:
        """The ranks a name gives: the exact name (or its key), starting with the text, holding it."""
        return ("WHEN v.name_fold = ? OR v.name_key = ? THEN 1 WHEN v.name_fold LIKE ? THEN 2 "
                "WHEN v.name_fold LIKE ? THEN 3", [self.whole, self.whole, self.whole + "%", f"%{self.whole}%"])

    def _rank(self) -> tuple[str, list]:
        names, names_params = self.name_ranks()
        inside, inside_params = self._inside_every_word()
        return (f"CASE WHEN UPPER(v.code) = ? THEN 0 {names} WHEN {inside} THEN 4 ELSE 5 END",
                [self.code, *names_params, *inside_params])

    def _inside_every_word(self) -> tuple[str, list]:
        """Every word inside the haystack or the code, tested on the row itself."""
        parts, params = [], []
        for word in self.words:
            part, part_params = self._inside(word)
            parts.append(part)
            params += part_params
        return " AND ".join(parts), params

    def _inside(self, word: str) -> tuple[str, list]:
        # SQLite's LIKE ignores the case of ASCII letters, which codes are made of
        code_like = "ILIKE" if self.dialect == "postgres" else "LIKE"
        return f"(v.search_text LIKE ? OR v.code {code_like} ?)", [f"%{word}%", f"%{word}%"]

    def _matching(self) -> tuple[str, list]:
        """Each word inside, or one letter off a whole word, through the indexes."""
        parts, params = [], []
        for word in self.words:
            found, found_params = self._indexed_inside(word)
            if word in self.with_typos:
                typo, typo_params = self._indexed_typo(word)
                found, found_params = f"({found} OR {typo})", found_params + typo_params
            parts.append(found)
            params += found_params
        return " AND ".join(parts), params

    def _indexed_inside(self, word: str) -> tuple[str, list]:
        if self.dialect == "postgres" or len(word) < TRIGRAM:  # the trigram index serves LIKE itself
            return self._inside(word)
        return f"({_FTS_ROWS} OR {_CODE_ROWS})", [_phrase(word), f"%{word.upper()}%"]

    def _indexed_typo(self, word: str) -> tuple[str, list]:
        patterns = [f"% {variant} %" for variant in one_letter_off(word)]  # whole words of the haystack
        likes = " OR ".join("v.search_text LIKE ?" for _ in patterns)
        if self.dialect == "postgres":
            return f"({likes})", patterns
        # FTS5 finds the rows holding the long runs of some pattern; LIKE then checks the pattern itself
        runs = " OR ".join("(" + " AND ".join(_phrase(run) for run in _runs(p)) + ")" for p in patterns)
        return f"({_FTS_ROWS} AND ({likes}))", [runs, *patterns]


class _WordIndexQuery:
    """A one-word search read from the words index alone (migration 0011): the third parties
    holding a vocabulary word that holds the word searched (`typed`), or one letter away from it
    (`typos`), ranked as _Query ranks them: no code holds the word, so by their names, then 4 for
    the word elsewhere, 5 for a typo only.

    A record holds each of its words once, so it comes once per vocabulary word it holds, its best
    rank first: the page is made of the records among the first (offset + page size) x (words)
    postings in rank order, and the records are counted as postings when there is one word.
    """

    POSTINGS = "FROM crm_thirdparty_word v WHERE v.word = ANY(?)"  # v: as name_ranks() names the row

    def __init__(self, query: _Query, typed: list[str], typos: list[str]):
        self.query = query
        self.typed = typed
        self.words = typed + typos

    async def with_typos(self, connection) -> _WordIndexQuery:
        [found] = await connection.execute_query_dict(*self.query.vocabulary_typos())
        return _WordIndexQuery(self.query, self.typed, found["words"])

    def page(self, offset: int, page_size: int) -> tuple[str, list]:
        names, names_params = self.query.name_ranks()
        total, total_params = self._total()
        query = (f"WITH top AS (SELECT thirdparty_id AS id, name_fold, "
                 f"CASE {names} WHEN v.word = ANY(?) THEN 4 ELSE 5 END AS rank "
                 f"{self.POSTINGS} ORDER BY rank, name_fold, id LIMIT ?) "
                 f"SELECT d.id, ({total}) AS total FROM (SELECT id, name_fold, MIN(rank) AS rank FROM top "
                 "GROUP BY id, name_fold) d ORDER BY d.rank, d.name_fold, d.id LIMIT ? OFFSET ?")
        return _numbered(query), [*names_params, self.typed, self.words, (offset + page_size) * len(self.words),
                                  *total_params, page_size, offset]

    def count(self) -> tuple[str, list]:
        total, params = self._total()
        return _numbered(total), params

    def _total(self) -> tuple[str, list]:
        matches = f"SELECT 1 {self.POSTINGS}" + (" GROUP BY v.thirdparty_id" if len(self.words) > 1 else "")
        return f"SELECT COUNT(*) AS total FROM ({matches}) m", [self.words]


def _numbered(query: str) -> str:
    return sql(connections.get("default"), query)  # the placeholders depend on the dialect only


_FTS_ROWS = "v.id IN (SELECT rowid FROM crm_thirdparty_search WHERE crm_thirdparty_search MATCH ?)"
# read from the codes' UPPER(code) index rather than the table
_CODE_ROWS = "v.id IN (SELECT id FROM crm_thirdparty WHERE UPPER(code) LIKE ?)"


def _phrase(text: str) -> str:
    """An FTS5 phrase: with the trigram tokenizer, rows holding `text` anywhere (no `"` in folded text)."""
    return f'"{text}"'


def _runs(pattern: str) -> list[str]:
    """The runs of a LIKE pattern between its wildcards that a trigram index can look up."""
    return [run for run in re.split("[%_]", pattern) if len(run) >= TRIGRAM]
