"""The context of a use case: who acts, with which settings, at what time, in which transaction.

Every domain function takes a `Context` first. Surfaces build one per request (Slack), per
command (CLI) or per job; nothing in it has a default a new caller could forget.

`async with ctx.transaction() as uow:` opens the unit of work: one database transaction,
joined by any use case the first one calls (merge and import call the same functions as
Slack does), with hooks that run only once it has committed (a Slack post, an email).
"""
from __future__ import annotations

import contextlib
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import AsyncIterator, Awaitable, Callable, Protocol
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from crm import db
from crm.errors import DatabaseUnavailable, OutcomeUnknown
from crm.permissions import Actor
from crm.settings import Settings

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Context:
    actor: Actor
    settings: Settings
    clock: Clock

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def timezone(self) -> ZoneInfo:
        """CRM_TIMEZONE: numbering periods, and date-times typed without an offset."""
        return self.settings.timezone

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """The unit of work: joined if one is already open in this task, else a new transaction.

        A database that cannot be reached is `DatabaseUnavailable` (nothing was changed); one that
        stops answering during the commit is `OutcomeUnknown` (the change may have been saved).
        """
        joined = _current.get()
        if joined is not None:
            yield joined
            return
        transaction = in_transaction()
        try:
            connection = await transaction.__aenter__()
        except Exception as error:
            if db.is_unavailable(error):
                raise DatabaseUnavailable() from error
            raise
        uow = UnitOfWork(connection, self.now())
        token = _current.set(uow)
        try:
            try:
                yield uow
            except BaseException as error:
                await _abandon(transaction, error)
                if isinstance(error, Exception) and db.is_unavailable(error):
                    raise DatabaseUnavailable() from error
                raise
            uow.committing = True
            try:
                await connection.commit()
            except BaseException as error:
                await _abandon(transaction, error)
                if isinstance(error, Exception) and db.is_unavailable(error):
                    raise OutcomeUnknown() from error
                raise
            await transaction.__aexit__(None, None, None)  # gives the connection back
        finally:
            _current.reset(token)
        await uow.run_hooks()


@dataclass
class UnitOfWork:
    """One transaction: its connection, the moment it started (every timestamp it writes),
    and what to do once it has committed."""

    connection: object
    now: datetime
    committing: bool = False
    _hooks: list[AfterCommit] = field(default_factory=list)

    def after_commit(self, hook: AfterCommit) -> None:
        self._hooks.append(hook)

    async def run_hooks(self) -> None:
        for hook in self._hooks:
            try:
                await hook()
            except Exception:  # noqa: BLE001 - the data is saved; a failed side effect must not hide that
                log.exception("an after-commit step failed")


_current: ContextVar[UnitOfWork | None] = ContextVar("crm_unit_of_work", default=None)


async def _abandon(transaction, error: BaseException) -> None:
    """Roll back and give the connection back; a database that is gone cannot roll back, and
    that second failure must not hide the first."""
    try:
        await transaction.__aexit__(type(error), error, error.__traceback__)
    except Exception:  # noqa: BLE001
        log.warning("rollback failed after %r", error, exc_info=True)
