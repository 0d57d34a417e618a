"""Who may do what. Every rule is checked here, in the domain, whatever the surface."""
from dataclasses import dataclass

from crm.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    """The person (or `system`) on whose behalf a use case runs."""

    id: str
    role: str = "sales"
    is_admin: bool = False

    @property
    def can_write(self) -> bool:
        return self.is_admin or self.role != "readonly"


SYSTEM = Actor("system", role="admin", is_admin=True)


def require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise Forbidden(f"Only admins can {what}. Ask an admin listed in CRM_ADMINS.")


def require_writer(actor: Actor, what: str) -> None:
    if not actor.can_write:
        raise Forbidden(f"Your role is read-only, so you cannot {what}. Ask an admin to change your role.")
