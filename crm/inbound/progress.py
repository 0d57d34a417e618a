"""Where the listener got to in each mailbox: the last UID it processed, valid as long as the
server's UIDVALIDITY is the one it was read under. A new UIDVALIDITY (the mailbox was
recreated) starts again from the first message: the Message-IDs already recorded keep those
from being logged twice."""
from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError

from models import Mailbox


async def resume_after(mailbox: str, uidvalidity: int, now: datetime) -> int:
    """The last UID processed in `mailbox` under `uidvalidity` (0: start from the beginning)."""
    row = await Mailbox.filter(name=mailbox).first()
    if row is None:
        try:
            await Mailbox.create(name=mailbox, uidvalidity=uidvalidity, last_uid=0, updated_at=now)
        except IntegrityError:
            return await resume_after(mailbox, uidvalidity, now)
        return 0
    if row.uidvalidity != uidvalidity:
        await Mailbox.filter(name=mailbox).update(uidvalidity=uidvalidity, last_uid=0, updated_at=now)
        return 0
    return row.last_uid


async def advance(mailbox: str, uidvalidity: int, uid: int, now: datetime) -> None:
    """Every message of `mailbox` up to `uid` is processed (never moves back)."""
    await Mailbox.filter(name=mailbox, uidvalidity=uidvalidity, last_uid__lt=uid).update(last_uid=uid, updated_at=now)
