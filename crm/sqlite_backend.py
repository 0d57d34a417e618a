"""Tortoise's SQLite engine, with transactions that take the write lock when they begin.

A plain `BEGIN` starts as a reader; in WAL mode, a transaction that read before another
process committed cannot then write: SQLite fails it at once with SQLITE_BUSY_SNAPSHOT,
whatever the busy timeout. `BEGIN IMMEDIATE` makes writers queue at the start instead,
within the busy timeout, so two local processes can create records at the same time.

When that BEGIN gives up (another process held the lock past the busy timeout), Tortoise's
transaction context would keep its in-process lock: every later transaction of the process
would then wait forever. Ours lets it go.

SQLite's UPPER and LOWER change ASCII letters only: a filter such as `town:москва` (a
case-insensitive equality, compared in upper case) would miss "Москва". Each connection gets
Python's, which know every script, as PostgreSQL's do.
"""
import sqlite3

from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise TransactionManagementError(error) from error


class ReleasingTransactionContext(SqliteTransactionContext):
    async def __aenter__(self):
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        return self.connection


def _texts_only(change):
    return lambda value: change(value) if isinstance(value, str) else value


class ImmediateSqliteClient(SqliteClient):
    async def _post_connect(self) -> None:
        await super()._post_connect()
        for name, change in (("upper", str.upper), ("lower", str.lower)):
            await self._connection.create_function(name, 1, _texts_only(change), deterministic=True)

    def _in_transaction(self) -> SqliteTransactionContext:
        return ReleasingTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
