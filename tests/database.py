"""The database each test run uses: SQLite in a temporary folder, or a fresh PostgreSQL
database created on the server named by CRM_TEST_DATABASE and dropped afterwards."""
from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise, connections

from models import APP


def target() -> str:
    import os

    return os.environ.get("CRM_TEST_DATABASE", "sqlite")


async def create_postgres_database(server_url: str, prefix: str = "crm_test") -> str:
    """A new empty database on the server of `server_url`; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(scheme="postgres", path=f"/{name}"))


async def drop_postgres_database(database_url: str) -> None:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def sqlite_url(folder: Path) -> str:
    return f"sqlite://{folder / 'crm.sqlite3'}"


async def empty_all_tables() -> None:
    """Delete every row (and restart ids) so each test starts from a fresh database.

    DELETE rather than TRUNCATE: on tables this small PostgreSQL's TRUNCATE costs ~0.15 s
    a test, DELETE a few milliseconds. Every foreign key cascades, so any order works.
    """
    connection = connections.get("default")
    models = list(Tortoise.apps[APP].values())
    tables = ["crm_thirdparty_tag", "crm_thirdparty_rep"] + [model._meta.db_table for model in models]
    deletes = "".join(f"DELETE FROM {table};" for table in tables)
    if connection.capabilities.dialect == "postgres":
        serial = [model._meta.db_table for model in models if model._meta.pk.generated]
        restarts = "".join(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false);" for table in serial)
        await connection.execute_script(deletes + restarts)
    else:
        await connection.execute_script(deletes + "DELETE FROM sqlite_sequence;")
