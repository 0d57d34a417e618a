"""The words of each third party's search text, for `/crm search` on PostgreSQL (crm.search).

A word that tens of thousands of third parties hold cannot be counted and ranked through the
trigram index: each match is checked in its row, and reading the rows is most of the time
(over 1,000,000 third parties, ~16,000 pages for a town's 23,000). Here each (word, third party)
is a row of crm_thirdparty_word, whose index carries what ranking needs (the folded name and
its key): the matches of a word are counted and ranked from that index alone. The distinct
words are listed in crm_search_vocabulary, where a trigram index finds those holding a typed
word, and the indexes of the words and of their reverse those one letter away from it.
Triggers keep both in step with every insert and every change of the search text or name,
whoever writes them (the domain, an import, a migration); deleting a third party deletes its
words (ON DELETE CASCADE). A word no record holds any more stays in the vocabulary and
finds nothing. The vocabulary has no unique index: two transactions adding the same new word
would otherwise wait on each other, and could deadlock; a duplicate is harmless.

SQLite keeps its FTS5 table (migration 0006): nothing to do there.
"""
from tortoise import migrations
from tortoise.migrations import operations as ops

WORDS_OF = """
CREATE FUNCTION crm_search_words(search_text TEXT) RETURNS SETOF TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT DISTINCT word FROM unnest(string_to_array(search_text, ' ')) AS word WHERE word NOT IN ('', '|')
$$"""
INDEX_WORDS = """
CREATE FUNCTION crm_index_thirdparty_words(ids INT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN  -- PL/pgSQL keeps its statements' plans for the session (an SQL function plans them at each call)
    DELETE FROM crm_thirdparty_word WHERE thirdparty_id = ANY(ids);
    INSERT INTO crm_thirdparty_word (word, thirdparty_id, name_fold, name_key)
        SELECT held, t.id, t.name_fold, t.name_key FROM crm_thirdparty t, crm_search_words(t.search_text) AS held
        WHERE t.id = ANY(ids);
    INSERT INTO crm_search_vocabulary (word)
        SELECT DISTINCT held FROM crm_thirdparty t, crm_search_words(t.search_text) AS held
        WHERE t.id = ANY(ids) AND NOT EXISTS (SELECT 1 FROM crm_search_vocabulary v WHERE v.word = held);
END $$"""
ON_INSERT = """
CREATE FUNCTION crm_thirdparty_words_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crm_index_thirdparty_words(ARRAY(SELECT id FROM inserted));
    RETURN NULL;
END $$"""
ON_UPDATE = """
CREATE FUNCTION crm_thirdparty_words_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crm_index_thirdparty_words(ARRAY[NEW.id]);
    RETURN NULL;
END $$"""

POSTGRES = [
    'CREATE TABLE crm_thirdparty_word (word TEXT COLLATE "C" NOT NULL, '
    "thirdparty_id INT NOT NULL REFERENCES crm_thirdparty (id) ON DELETE CASCADE, "
    'name_fold TEXT COLLATE "C" NOT NULL, name_key TEXT COLLATE "C" NOT NULL)',
    'CREATE TABLE crm_search_vocabulary (word TEXT COLLATE "C" NOT NULL)',
    WORDS_OF,
    # the rows already there, before the indexes: building an index at once is quicker than growing it
    "INSERT INTO crm_thirdparty_word (word, thirdparty_id, name_fold, name_key) "
    "SELECT found, t.id, t.name_fold, t.name_key FROM crm_thirdparty t, crm_search_words(t.search_text) AS found",
    "INSERT INTO crm_search_vocabulary (word) SELECT DISTINCT word FROM crm_thirdparty_word",
    # a word's matches, their names for the ranking beside them (read by an index-only scan)
    "CREATE INDEX crm_thirdparty_word_word ON crm_thirdparty_word (word, thirdparty_id) "
    "INCLUDE (name_fold, name_key)",
    "CREATE INDEX crm_thirdparty_word_thirdparty ON crm_thirdparty_word (thirdparty_id)",
    "CREATE INDEX crm_search_vocabulary_word ON crm_search_vocabulary (word)",
    "CREATE INDEX crm_search_vocabulary_trgm ON crm_search_vocabulary USING gin (word gin_trgm_ops)",
    # the typos of a word: the words starting with its first half or ending with its second (crm.search)
    "CREATE INDEX crm_search_vocabulary_reversed ON crm_search_vocabulary (reverse(word))",
    # statistics for the first searches' plans (VACUUM, which lets them read the index alone, cannot run in
    # a migration's transaction: autovacuum soon does; until then they also read the table)
    "ANALYZE crm_thirdparty_word",
    "ANALYZE crm_search_vocabulary",
    INDEX_WORDS,
    ON_INSERT,
    ON_UPDATE,
    # one call for all the rows a statement inserts (a bulk import's batch)
    "CREATE TRIGGER crm_thirdparty_words_insert AFTER INSERT ON crm_thirdparty REFERENCING NEW TABLE AS inserted "
    "FOR EACH STATEMENT EXECUTE FUNCTION crm_thirdparty_words_inserted()",
    "CREATE TRIGGER crm_thirdparty_words_update AFTER UPDATE OF search_text, name_fold, name_key ON crm_thirdparty "
    "FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text "
    "OR OLD.name_fold IS DISTINCT FROM NEW.name_fold OR OLD.name_key IS DISTINCT FROM NEW.name_key) "
    "EXECUTE FUNCTION crm_thirdparty_words_updated()",
]


async def index_search_words(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    for statement in POSTGRES:
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [('crm', '0010_email')]

    initial = False

    operations = [
        ops.RunPython(index_search_words, ops.RunPython.noop),
    ]
