"""Threads: one conversation per record between its parties (and the city's reviewers, for
claims). A domain registers how to find a record's parties (``register_subject``); the
vouchers domain registers "voucher" the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import permissions as perm
from marketplace.conversations.models import Thread, ThreadAttachment, ThreadMessage, ThreadRead
from marketplace.core import uploads
from marketplace.core.errors import NotFound, ServiceError
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import transactional, unit_of_work
from marketplace.extensions import db
from marketplace.notifications.services import members, tell

MAX_BODY = 5000
UPLOAD_AREA = "threads"


@dataclass
class Subject:
    """What a thread is about, and who takes part in it."""

    kind: str
    id: int
    title: str
    link: str
    org_ids: tuple[int, ...]
    reviewers: bool = False  # the city's reviewers take part (claims)
    extra_users: tuple[int, ...] = field(default_factory=tuple)

    def participants(self) -> list[int]:
        from marketplace.accounts.models import Membership

        users: list[int] = []
        for org_id in self.org_ids:
            users += members(org_id)
        if self.reviewers:
            users += list(db.session.scalars(select(Membership.user_id).where(
                Membership.role.in_((perm.REVIEWER,))).distinct()))
        return list(dict.fromkeys(users + list(self.extra_users)))


_SUBJECTS: dict[str, Callable[[int], Subject | None]] = {}


def register_subject(kind: str, resolve: Callable[[int], Subject | None]) -> None:
    """``resolve(id)`` returns the Subject, or None if there is no such record."""
    _SUBJECTS[kind] = resolve


def subject(kind: str, subject_id: int) -> Subject:
    resolve = _SUBJECTS.get(kind)
    found = resolve(subject_id) if resolve is not None else None
    if found is None:
        raise NotFound(_("This conversation does not exist."))
    return found


def _enquiry(subject_id: int) -> Subject | None:
    from marketplace.orders.models import Enquiry

    e = db.session.get(Enquiry, subject_id)
    if e is None:
        return None
    return Subject("enquiry", e.id, e.listing.title, f"/enquiries/{e.id}", (e.buyer_org_id, e.seller_org_id))


def _order(subject_id: int) -> Subject | None:
    from marketplace.orders.models import Order

    o = db.session.get(Order, subject_id)
    if o is None:
        return None
    return Subject("order", o.id, o.listing.title, f"/orders/{o.id}", (o.buyer_org_id, o.seller_org_id))


def _booking(subject_id: int) -> Subject | None:
    from marketplace.orders.models import Booking

    b = db.session.get(Booking, subject_id)
    if b is None:
        return None
    return Subject("booking", b.id, b.instrument.title, "/bookings",
                   (b.customer_org_id, b.instrument.organization_id))


def _claim(subject_id: int) -> Subject | None:
    from marketplace.claims.models import Claim

    c = db.session.get(Claim, subject_id)
    if c is None:
        return None
    return Subject("claim", c.id, f"{c.clause} · {c.organization.name}", f"/claims/{c.id}", (c.organization_id,),
                   reviewers=True)


register_subject("enquiry", _enquiry)
register_subject("order", _order)
register_subject("booking", _booking)
register_subject("claim", _claim)


def may_take_part(actor, subj: Subject) -> bool:
    return perm.can(actor, perm.TAKE_PART, subj)


def _thread(kind: str, subject_id: int, create: bool) -> Thread | None:
    thread = db.session.scalar(select(Thread).where(Thread.subject_kind == kind, Thread.subject_id == subject_id))
    if thread is None and create:
        thread = Thread(subject_kind=kind, subject_id=subject_id)
        db.session.add(thread)
        db.session.flush()
    return thread


def view(actor, kind: str, subject_id: int) -> tuple[Subject, Thread | None, dict[int, list[str]]]:
    """The thread for the reader (marking it read), and who has read each message."""
    subj = subject(kind, subject_id)
    if not may_take_part(actor, subj):
        raise NotFound(_("This conversation does not exist."))
    with unit_of_work():
        thread = _thread(kind, subject_id, create=False)
        receipts: dict[int, list[str]] = {}
        if thread is not None and thread.messages:
            last = thread.messages[-1].id
            mine = db.session.get(ThreadRead, (thread.id, actor.id))
            if mine is None:
                db.session.add(ThreadRead(thread_id=thread.id, user_id=actor.id, last_message_id=last))
            elif mine.last_message_id < last:
                mine.last_message_id, mine.read_at = last, utcnow()
            db.session.flush()
            reads = list(db.session.scalars(select(ThreadRead).where(ThreadRead.thread_id == thread.id)))
            for message in thread.messages:
                receipts[message.id] = [r.user.name for r in reads
                                        if r.user_id != message.author_id and r.last_message_id >= message.id]
    return subj, thread, receipts


def post(actor, kind: str, subject_id: int, body: str, files=()) -> ThreadMessage:
    """Write in the thread (files checked like every upload); the other participants are told."""
    subj = subject(kind, subject_id)
    if not may_take_part(actor, subj):
        raise NotFound(_("This conversation does not exist."))
    body = (body or "").strip()
    if not body:
        raise ServiceError(_("Write a message."), "body")
    if len(body) > MAX_BODY:
        raise ServiceError(_("Write at most %(n)d characters.", n=MAX_BODY), "body")
    checked = uploads.check(files)
    with unit_of_work() as uow:
        thread = _thread(kind, subject_id, create=True)
        org = actor.organization
        message = ThreadMessage(thread_id=thread.id, author_id=actor.id, organization_id=org.id if org else None,
                                body=body)
        db.session.add(message)
        db.session.flush()
        written = uploads.store(checked, UPLOAD_AREA) if checked else []
        uow.on_rollback(lambda: uploads.remove([p for _f, _s, p in written]))
        for f, stored, _path in written:
            db.session.add(ThreadAttachment(message_id=message.id, stored_name=stored, original_name=f.original_name,
                                            content_type=f.content_type, size_bytes=len(f.data), sha256=f.sha256))
        read = db.session.get(ThreadRead, (thread.id, actor.id))
        if read is None:
            db.session.add(ThreadRead(thread_id=thread.id, user_id=actor.id, last_message_id=message.id))
        else:
            read.last_message_id, read.read_at = message.id, utcnow()
        excerpt = body if len(body) <= 60 else body[:59] + "…"
        tell(subj.participants(), "message", "talk.message", subj.link, exclude=actor.id, name=actor.name,
             org=org.name if org else "", title=subj.title, excerpt=excerpt)
    return message


def attachment_file(actor, attachment_id: int):
    item = db.session.get(ThreadAttachment, attachment_id)
    if item is None:
        raise NotFound(_("This file does not exist."))
    thread = item.message.thread
    if not may_take_part(actor, subject(thread.subject_kind, thread.subject_id)):
        raise NotFound(_("This file does not exist."))
    try:
        return item, uploads.open_stored(UPLOAD_AREA, item.stored_name)
    except FileNotFoundError:
        raise NotFound(_("This file does not exist.")) from None
