"""Actions that happen once, however fast a button is clicked twice or a form submitted twice.

An action offered behind a button ("Create anyway") is kept here under a short random token,
which is all the button carries. Confirming it runs it in the transaction that records its
result, under a lock on its row: a second click waits for the first, then gets the record
the first one made. A submitted form is keyed by its Slack view the same way.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Awaitable, Callable

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from crm.context import Context, UnitOfWork
from crm.errors import Forbidden, NotFound
from models import PendingAction

EXPIRY = timedelta(days=1)
TOKEN_BYTES = 12  # 16 characters in base64


@dataclass(frozen=True)
class Outcome:
    result_id: int
    repeated: bool  # an earlier click or submission had already done it


async def offer(ctx: Context, kind: str, payload: dict) -> str:
    """Keep an action for its confirmation button; returns the token the button carries."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with ctx.transaction() as uow:
        await PendingAction.filter(created_at__lt=uow.now - EXPIRY).using_db(uow.connection).delete()
        await PendingAction.create(token=token, kind=kind, actor_id=ctx.actor.id, payload=payload,
                                   created_at=uow.now, using_db=uow.connection)
    return token


async def confirm(ctx: Context, token: str, kind: str, run: Callable[[dict], Awaitable[int]]) -> Outcome:
    """Run the action offered under `token` once; `run(payload)` is a use case returning the id it made."""
    async with ctx.transaction() as uow:
        row = await _locked(uow, token)
        if row is None or row.kind != kind or row.created_at < uow.now - EXPIRY:
            raise NotFound("This button has expired. Run the command again.")
        if row.actor_id != ctx.actor.id:
            raise Forbidden("Only the person this was offered to can confirm it.")
        return await _run_once(uow, row, lambda: run(row.payload))


async def once(ctx: Context, key: str, kind: str, run: Callable[[], Awaitable[int]]) -> Outcome:
    """Run `run` (a use case returning the id it made) at most once for `key`, e.g. a submitted form."""
    async with ctx.transaction() as uow:
        row = await _locked(uow, key)
        if row is None:
            try:
                async with in_transaction() as savepoint:
                    row = await PendingAction.create(token=key, kind=kind, actor_id=ctx.actor.id,
                                                     created_at=uow.now, using_db=savepoint)
            except IntegrityError:  # another submission got there first and has committed
                row = await _locked(uow, key)
        return await _run_once(uow, row, run)


async def _locked(uow: UnitOfWork, token: str) -> PendingAction | None:
    return await PendingAction.filter(token=token).select_for_update().using_db(uow.connection).first()


async def _run_once(uow: UnitOfWork, row: PendingAction, run: Callable[[], Awaitable[int]]) -> Outcome:
    if row.result_id is not None:
        return Outcome(row.result_id, repeated=True)
    row.result_id = await run()
    await PendingAction.filter(token=row.token).using_db(uow.connection).update(result_id=row.result_id)
    return Outcome(row.result_id, repeated=False)
