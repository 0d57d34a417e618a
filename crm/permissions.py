"""Who may do what, and see what. Every rule is checked here, in the domain, whatever the surface."""
from dataclasses import dataclass

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from crm.errors import Forbidden, NotFound
from models import Document, ThirdParty


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


def visible_thirdparties(actor: Actor) -> QuerySet[ThirdParty]:
    """The third parties `actor` may see: every read of third parties starts here.

    Today every member of the workspace sees every record; a per-record rule (say, sales reps
    see only their own) is added here and reaches every surface at once. Contacts, events and
    custom values are read through their third party, so they follow it.
    """
    return ThirdParty.all()


def visible_documents(actor: Actor) -> QuerySet[Document]:
    """The documents `actor` may see: those of the third parties they see, and those kept for the
    books after their third party was erased."""
    return Document.filter(Q(thirdparty_id__in=Subquery(visible_thirdparties(actor).values("id")))
                           | Q(thirdparty_id__isnull=True))


def held_by(rep_id: str) -> Subquery:
    """The ids of the third parties `rep_id` is a sales rep of."""
    return Subquery(ThirdParty.filter(sales_reps__id=rep_id).values("id"))


async def visible_thirdparty(actor: Actor, thirdparty_id: int, connection=None, *, for_update: bool = False) -> ThirdParty:
    """One third party `actor` may see (locked for an update if asked), or NotFound in words."""
    query = visible_thirdparties(actor).filter(id=thirdparty_id)
    if for_update:
        query = query.select_for_update()
    row = await query.using_db(connection).first()
    if row is None:
        raise NotFound("This third party no longer exists; it may have been deleted or merged.")
    return row
