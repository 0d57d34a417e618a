"""Slack users as the CRM knows them: profile cache and role."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm import clock
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


async def get_or_create(user_id: str, default_role: str) -> User:
    user, _ = await User.get_or_create(id=user_id, defaults={"role": default_role})
    return user


def needs_refresh(user: User, now: datetime | None = None) -> bool:
    return user.refreshed_at is None or (now or clock.now()) - user.refreshed_at > PROFILE_MAX_AGE


async def store_profile(user: User, profile: Profile) -> User:
    user.name, user.email, user.tz, user.is_guest = profile.name, profile.email, profile.tz, profile.is_guest
    user.refreshed_at = clock.now()
    await user.save(update_fields=["name", "email", "tz", "is_guest", "refreshed_at"])
    return user


def actor(user: User, admins: frozenset[str]) -> Actor:
    return Actor(user.id, role=user.role, is_admin=user.id in admins)


async def ensure_users(user_ids, default_role: str, connection=None) -> list[User]:
    """Users for Slack IDs named as sales reps, created on first mention."""
    users = []
    for user_id in dict.fromkeys(user_ids):
        user, _ = await User.get_or_create(id=user_id, defaults={"role": default_role}, using_db=connection)
        users.append(user)
    return users
