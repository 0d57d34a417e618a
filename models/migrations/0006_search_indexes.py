"""Indexes for `/crm search` (crm.search): any part of a third party's folded search text, or
of its code, is found without reading the whole table.

PostgreSQL: pg_trgm's GIN trigram indexes serve `LIKE '%…%'` on the search text and `ILIKE
'%…%'` on the code. SQLite: an FTS5 table with the trigram tokenizer over the search text,
reading it from crm_thirdparty (external content) and kept in step by triggers. No trigger
follows the code: SQLite counts a trigger's changes in those of the statement, and the
numbering's claim of a code (crm.numbering) checks that it changed exactly one row; codes
are read through their UPPER(code) index instead.
"""
from tortoise import migrations
from tortoise.migrations import operations as ops

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX crm_thirdparty_search_trgm ON crm_thirdparty USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX crm_thirdparty_code_trgm ON crm_thirdparty USING gin (code gin_trgm_ops)",
]
SQLITE = [
    "CREATE VIRTUAL TABLE crm_thirdparty_search USING fts5("
    "search_text, content='crm_thirdparty', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER crm_thirdparty_search_insert AFTER INSERT ON crm_thirdparty BEGIN "
    "INSERT INTO crm_thirdparty_search (rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER crm_thirdparty_search_delete AFTER DELETE ON crm_thirdparty BEGIN "
    "INSERT INTO crm_thirdparty_search (crm_thirdparty_search, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER crm_thirdparty_search_update AFTER UPDATE OF search_text ON crm_thirdparty BEGIN "
    "INSERT INTO crm_thirdparty_search (crm_thirdparty_search, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO crm_thirdparty_search (rowid, search_text) VALUES (new.id, new.search_text); END",
    # the rows already there
    "INSERT INTO crm_thirdparty_search (crm_thirdparty_search) VALUES ('rebuild')",
]


async def create_search_indexes(apps, schema_editor) -> None:
    client = schema_editor.client
    statements = POSTGRES if client.capabilities.dialect == "postgres" else SQLITE
    for statement in statements:
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [('crm', '0005_commercial_documents')]

    initial = False

    operations = [
        ops.RunPython(create_search_indexes, ops.RunPython.noop),
    ]
