"""Database connection and schema migrations (Tortoise ORM, SQLite or PostgreSQL)."""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import unquote, urlsplit

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.asyncpg import AsyncpgDBClient
from tortoise.exceptions import DBConnectionError, OperationalError, TransactionManagementError
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from crm import files
from models import APP

# Any constant works: it only has to be the same in every process of the installation.
MIGRATION_LOCK_ID = 0x43524D  # "CRM"
# Every query, and every connection attempt, gives up after this many seconds, so that a
# database that is down or frozen is reported in words within Slack's 3 seconds (asyncpg
# then spends as long again trying to cancel the query on a frozen server).
QUERY_TIMEOUT = 1.2
# What sqlite3 says when another process holds the file's lock or the file cannot be used.
SQLITE_UNAVAILABLE = ("database is locked", "database is busy", "unable to open", "disk i/o error")
# Parameters one statement may carry: PostgreSQL's protocol takes 32,767, SQLite (3.32 on) 32,766.
MAX_PARAMETERS = 30_000


def tortoise_config(database_url: str) -> dict:
    if database_url.startswith("sqlite://"):
        path = database_url[len("sqlite://"):]
        if path != ":memory:":
            # created before SQLite opens it: SQLite gives its -wal and -shm files the file's permissions
            files.private_file(Path(path))
        connection = {
            "engine": "crm.sqlite_backend",
            # busy_timeout: a second local process waits for the write lock, within the query timeout
            "credentials": {"file_path": path, "busy_timeout": int(QUERY_TIMEOUT * 1000)},
        }
    else:
        connection = {"engine": "tortoise.backends.asyncpg",
                      "credentials": {**_postgres_credentials(database_url), "reset": _keep_session,
                                      "command_timeout": QUERY_TIMEOUT, "timeout": QUERY_TIMEOUT}}
    return {
        "connections": {"default": connection},
        "apps": {APP: {"models": ["models"], "migrations": "models.migrations", "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def _keep_session(connection) -> None:
    """A pooled connection goes back as it is (asyncpg still rolls back an open transaction):
    the app sets no session state on pooled connections (no SET, LISTEN or advisory lock; the
    migration lock has a connection of its own), so the usual reset would be a wasted round
    trip after every query."""


def _postgres_credentials(database_url: str) -> dict:
    parts = urlsplit(database_url)
    return {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/"),
        "minsize": 1,
        "maxsize": 10,
    }


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) means the database could not be reached or did not
    answer in time, rather than a mistake in a query."""
    while error is not None:
        if isinstance(error, (TimeoutError, OSError, DBConnectionError, asyncpg.PostgresConnectionError,
                              asyncpg.InterfaceError, asyncpg.QueryCanceledError,
                              asyncpg.CannotConnectNowError)):
            return True
        if isinstance(error, sqlite3.OperationalError) and str(error).lower().startswith(SQLITE_UNAVAILABLE):
            return True
        if not isinstance(error, (OperationalError, TransactionManagementError)) and error.__cause__ is None:
            return False
        error = error.__cause__
    return False


async def connect(database_url: str) -> None:
    await Tortoise.init(config=tortoise_config(database_url))


async def close() -> None:
    await Tortoise.close_connections()


async def upgrade(database_url: str, target: str | None = None) -> list[str]:
    """Apply pending migrations (up to `target`, a migration name, if given) on the
    connected database; returns the names applied.

    Processes starting together on one PostgreSQL database take turns.
    """
    async with _migration_lock(database_url), _without_query_timeout(database_url):
        pending = await pending_migrations()
        # forward only: a target older than the schema is refused, never rolled back to
        if target is None:
            await _executor().migrate(direction="forward")
            return pending
        await _executor().migrate([MigrationTarget(app_label=APP, name=target)], direction="forward")
        return pending[: pending.index(target) + 1] if target in pending else []


@contextlib.asynccontextmanager
async def _without_query_timeout(database_url: str) -> AsyncIterator[None]:
    """Migrations may build indexes over millions of rows: on PostgreSQL they run on a
    connection of their own without the query timeout, standing in for "default" in this task."""
    if not database_url.startswith("postgres://"):
        yield
        return
    client = AsyncpgDBClient(connection_name="default", **{**_postgres_credentials(database_url), "maxsize": 1})
    token = connections.set("default", client)
    try:
        yield
    finally:
        connections.reset(token)
        await client.close()


async def pending_migrations() -> list[str]:
    """Names of migrations not yet applied on the connected database."""
    plan = await _executor().plan()
    return [step.migration.name for step in plan if not step.backward]


def _executor() -> MigrationExecutor:
    return MigrationExecutor(connections.get("default"), tortoise_config("sqlite://:memory:")["apps"])


@contextlib.asynccontextmanager
async def _migration_lock(database_url: str) -> AsyncIterator[None]:
    if not database_url.startswith("postgres://"):
        async with _file_lock(Path(database_url[len("sqlite://"):] + ".migrate-lock")):
            yield
        return
    # a session lock on a connection of its own, so migrations run in their own transactions
    lock_connection = await asyncpg.connect(database_url)
    try:
        await lock_connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        yield
    finally:
        await lock_connection.close()  # closing releases the lock


@contextlib.asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    """An exclusive lock between the processes of one machine sharing a SQLite file."""
    with path.open("a") as handle:
        # flock blocks, so wait for it in a thread; the loop stays free
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sql(connection, query: str) -> str:
    """Raw SQL is written with `?` placeholders; asyncpg wants `$1, $2, …`."""
    if connection.capabilities.dialect != "postgres":
        return query
    parts = query.split("?")
    return "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, 1))


def timestamp(connection, moment: datetime) -> datetime | str:
    """An aware datetime as a raw SQL parameter: asyncpg takes it as is; for SQLite, the
    text Tortoise itself stores (sqlite3's implicit datetime adapter is deprecated)."""
    return moment if connection.capabilities.dialect == "postgres" else moment.isoformat(sep=" ")


async def insert_rows(connection, table: str, rows: list[dict], returning: str = "") -> list[dict]:
    """Insert rows (dicts with the same keys) by multi-row INSERTs, as few as the parameter limit
    allows; returns the `returning` columns (e.g. "id, code") of each, in no promised order."""
    if not rows:
        return []
    columns = list(rows[0])
    per_statement = MAX_PARAMETERS // len(columns)
    placeholders = f"({', '.join('?' for _ in columns)})"
    returned = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        statement = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholders] * len(chunk))}"
                     + (f" RETURNING {returning}" if returning else ""))
        parameters = [timestamp(connection, value) if isinstance(value, datetime) else value
                      for row in chunk for value in row.values()]
        if returning:
            returned += await connection.execute_query_dict(sql(connection, statement), parameters)
        else:
            await connection.execute_query(sql(connection, statement), parameters)
    return returned


def connection():
    """The connection of the database `connect` opened, for raw SQL."""
    return connections.get("default")


async def ping() -> None:
    await connection().execute_query("SELECT 1")


# For developers: `tortoise -c crm.db.TORTOISE_ORM makemigrations` writes a migration
# for model changes into models/migrations/ (see the README).
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
