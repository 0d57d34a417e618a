"""Slack users as the CRM knows them: profile cache and role."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm.context import UnitOfWork
from crm.permissions import Actor
from models import User

PROFILE_MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class Profile:
    """What Slack's users.info says of a user, as plain data."""

    name: str
    email: str | None
    tz: str | None
    is_guest: bool
    locale: str | None = None


@dataclass(frozen=True)
class KnownUser:
    """A user as the surfaces need them: who, their role, their profile and when Slack last told us."""

    id: str
    role: str
    name: str
    tz: str | None
    is_guest: bool
    refreshed_at: datetime | None
    locale: str | None = None

    def needs_refresh(self, now: datetime) -> bool:
        return self.refreshed_at is None or now - self.refreshed_at > PROFILE_MAX_AGE

    def actor(self, admins: frozenset[str]) -> Actor:
        return Actor(self.id, role=self.role, is_admin=self.id in admins)


def _known(user: User) -> KnownUser:
    return KnownUser(user.id, user.role, user.name, user.tz, user.is_guest, user.refreshed_at, user.locale)


async def get_or_create(user_id: str, default_role: str, now: datetime) -> KnownUser:
    user, _ = await User.get_or_create(id=user_id, defaults={"role": default_role, "created_at": now})
    return _known(user)


async def store_profile(user_id: str, profile: Profile, now: datetime) -> KnownUser:
    await User.filter(id=user_id).update(name=profile.name, email=profile.email, tz=profile.tz,
                                         is_guest=profile.is_guest, locale=profile.locale, refreshed_at=now)
    return _known(await User.get(id=user_id))


async def names(user_ids: list[str]) -> dict[str, str]:
    """Display names of the users Slack told us about, by ID (unknown ones are left out)."""
    rows = await User.filter(id__in=user_ids).exclude(name="").values_list("id", "name")
    return dict(rows)


async def ensure_users(uow: UnitOfWork, user_ids, default_role: str) -> list[User]:
    """Users for Slack IDs named as sales reps, created on first mention."""
    users = []
    for user_id in dict.fromkeys(user_ids):
        user, _ = await User.get_or_create(id=user_id, defaults={"role": default_role, "created_at": uow.now},
                                           using_db=uow.connection)
        users.append(user)
    return users
