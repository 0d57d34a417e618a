"""Faults caused through the database itself, not by patching the code under test.

A trigger makes the database refuse a write, or write something of its own just before one
(as a concurrent writer would), on SQLite and on PostgreSQL alike.
"""
from __future__ import annotations

import contextlib
from typing import AsyncIterator

from tortoise import connections

TRIGGER = "crm_test_fault"
MESSAGE = "refused by a test trigger"


async def _run(script: str) -> None:
    await connections.get("default").execute_script(script)


@contextlib.asynccontextmanager
async def _trigger(table: str, sqlite_body: str, postgres_body: str) -> AsyncIterator[None]:
    if connections.get("default").capabilities.dialect == "postgres":
        await _run(f"CREATE FUNCTION {TRIGGER}() RETURNS trigger AS $$ BEGIN {postgres_body} END $$ LANGUAGE plpgsql;"
                   f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {TRIGGER}();")
        drop = f"DROP TRIGGER {TRIGGER} ON {table}; DROP FUNCTION {TRIGGER}();"
    else:
        await _run(f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {table} BEGIN {sqlite_body} END;")
        drop = f"DROP TRIGGER {TRIGGER};"
    try:
        yield
    finally:
        await _run(drop)


def failing_inserts(table: str):
    """Every INSERT into `table` fails, as a full disk or a broken table would make it."""
    return _trigger(table, f"SELECT RAISE(ABORT, '{MESSAGE}');", f"RAISE EXCEPTION '{MESSAGE}';")


def write_before_inserts(table: str, statement: str):
    """Run `statement` just before each INSERT into `table`: another writer getting there first."""
    return _trigger(table, f"{statement};", f"{statement}; RETURN NEW;")
