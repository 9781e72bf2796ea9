from sqlalchemy import select

from marketplace import permissions as perm
from marketplace.audit.models import AuditEvent
from marketplace.core import paging
from marketplace.extensions import db
from marketplace.notifications.models import OutgoingMail


def audit_events(actor, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[AuditEvent]:
    """The audit log, newest first, a page at a time."""
    perm.require(actor, perm.VIEW_AUDIT)
    return paging.paginate(select(AuditEvent), order_by=(), tiebreak=AuditEvent.id.desc(), page=page,
                           per_page=per_page)


def outgoing_mail(actor, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[OutgoingMail]:
    perm.require(actor, perm.VIEW_MAIL)
    return paging.paginate(select(OutgoingMail), order_by=(), tiebreak=OutgoingMail.id.desc(), page=page,
                           per_page=per_page)
