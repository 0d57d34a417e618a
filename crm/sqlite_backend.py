"""Tortoise's SQLite engine, with transactions that take the write lock when they begin.

A plain `BEGIN` starts as a reader; in WAL mode, a transaction that read before another
process committed cannot then write: SQLite fails it at once with SQLITE_BUSY_SNAPSHOT,
whatever the busy timeout. `BEGIN IMMEDIATE` makes writers queue at the start instead,
within the busy timeout, so two local processes can create records at the same time.
"""
import sqlite3

from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise TransactionManagementError(error) from error


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> SqliteTransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
