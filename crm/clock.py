"""The one clock of the application: timezone-aware, and settable by tests."""
from datetime import datetime, timezone

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen or datetime.now(timezone.utc)


def freeze(at: datetime | None) -> None:
    """Pin `now()` to `at` (aware), or release it with None."""
    if at is not None and at.tzinfo is None:
        raise ValueError("the clock takes timezone-aware datetimes only")
    global _frozen
    _frozen = at
