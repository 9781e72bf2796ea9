from sqlalchemy import select

from marketplace import permissions as perm
from marketplace.audit.models import AuditEvent
from marketplace.extensions import db
from marketplace.notifications.models import OutgoingMail


def audit_events(actor, limit: int = 200) -> list[AuditEvent]:
    perm.require(actor, perm.VIEW_AUDIT)
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))


def outgoing_mail(actor, limit: int = 200) -> list[OutgoingMail]:
    perm.require(actor, perm.VIEW_MAIL)
    return list(db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(limit)))
