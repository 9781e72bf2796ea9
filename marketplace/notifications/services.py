"""Specific notifications: who did what, with names and amounts, linked to the record, in
the app and by mail, as each user chose per kind and channel.

``tell(user_ids, kind, text, link, **params)`` is called inside the caller's unit of work:
it writes one notification row per user (if that user keeps the kind in the app) and queues
one mail (if they keep it by mail), in the user's language, with the link built on
EXTERNAL_BASE_URL. The mail of a notification is written and sent after commit, from its row,
by the outbox (``compose_mail``, the worker in production): the request only adds an outbox
row. ``text`` is a key of TEXTS: the English message with %(name)s placeholders, translated
when shown, so each reader reads it in their own language.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select, update

from marketplace.accounts.models import Membership, User
from marketplace.core.errors import NotFound, ServiceError
from marketplace.core.i18n import text_of
from marketplace.core.labels import label
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import lock_for_writing, transactional
from marketplace.extensions import db
from marketplace.notifications.models import Notification, NotificationPreference, OutgoingMail, queue_mail
from marketplace.outbox import enqueue

# The outbox topic of a notification's mail: its key is the notification's id.
COMPOSE_TOPIC = "mail.compose"
MAIL_TEMPLATE = "mail/notification.txt"

CHANNELS = ("app", "mail")
KINDS = {
    "enquiry": _l("Enquiries and proposals"),
    "quote": _l("Quotes, counters and acceptances"),
    "order": _l("Orders and payments"),
    "message": _l("Messages in conversations"),
    "notice": _l("Agreed-price public notices and objections"),
    "reminder": _l("Reminders (bookings, expiring quotes, notices ending)"),
}

TEXTS = {
    "talk.enquiry": _l("%(org)s sent an enquiry about %(title)s."),
    "talk.proposal": _l("%(org)s proposed %(price)s for your demand %(title)s."),
    "talk.quoted": _l("%(org)s quoted %(price)s for %(title)s."),
    "talk.countered": _l("%(org)s countered with %(price)s for %(title)s."),
    "talk.accepted": _l("%(org)s accepted %(price)s for %(title)s."),
    "talk.declined": _l("%(org)s declined %(price)s for %(title)s: %(reason)s"),
    "talk.files_granted": _l("%(org)s let you see the confidential files of %(title)s."),
    "talk.not_chosen": _l("%(org)s chose another proposal for %(title)s."),
    "talk.demand_closed": _l("%(org)s closed the demand %(title)s."),
    "talk.order": _l("%(org)s ordered %(title)s for %(price)s."),
    "talk.paid": _l("%(org)s paid %(price)s for %(title)s."),
    "talk.message": _l("%(name)s (%(org)s) wrote about %(title)s: %(excerpt)s"),
    "talk.notice_started": _l("The agreed price %(price)s for %(title)s is on public notice until %(until)s."),
    "talk.notice_objection": _l("%(name)s objected to the agreed price %(price)s for %(title)s: %(reason)s"),
    "talk.notice_cleared": _l("The public notice of %(price)s for %(title)s ended without an upheld objection: "
                              "the contract can be signed and paid."),
    "talk.notice_withdrawn": _l("%(org)s upheld an objection: the agreed price %(price)s for %(title)s is "
                                "withdrawn."),
    "talk.objection_dismissed": _l("%(org)s dismissed your objection to %(title)s: %(reason)s"),
    "talk.booking_tomorrow": _l("Reminder: %(title)s is booked for you tomorrow at %(time)s."),
    "talk.quote_expiring": _l("The offer of %(price)s for %(title)s expires on %(until)s."),
    "talk.notice_ending": _l("The public notice of %(price)s for %(title)s ends on %(until)s."),
    "talk.evidence_waiting": _l("The city still waits for the evidence it asked for on claim %(ref)s."),
    "talk.voucher_expiring": _l("Your innovation voucher %(ref)s expires on %(until)s."),
}


@dataclass(frozen=True)
class Everyone:
    """Every member of an organisation as ``tell``'s recipients: the members and their
    choices are read in one query."""

    org_id: int | None


@dataclass(frozen=True)
class Chosen:
    """``tell``'s recipients read ahead: each member of an organisation with their channels for
    one kind of notice. A service reads them before its unit of work takes SQLite's write lock,
    which other writers wait for; a member who joins or changes a choice in between is told as
    a moment earlier."""

    kind: str
    choices: dict[int, dict[str, bool]]


def read_ahead(who: Everyone, kind: str) -> Chosen:
    """The members of ``who`` and their choices for ``kind``, for a ``tell`` to come."""
    return Chosen(kind, _members_choosing(who.org_id, kind))


def members(org_id: int | None) -> list[int]:
    """The users of an organisation (none for None)."""
    if org_id is None:
        return []
    return list(db.session.scalars(select(Membership.user_id).where(Membership.organization_id == org_id)))


def _enabled(user_id: int, kind: str) -> dict[str, bool]:
    return _enabled_for([user_id], kind)[user_id]


# The statements tell() runs, built once (with bind parameters): building a select and its
# cache key for every notice cost more than running it.

@functools.cache
def _choices_of_users():
    pref = NotificationPreference
    return (select(pref.user_id, pref.channel, pref.enabled)
            .where(pref.user_id.in_(bindparam("user_ids", expanding=True)), pref.kind == bindparam("kind")))


@functools.cache
def _choices_of_members():
    pref = NotificationPreference
    return (select(Membership.user_id, pref.channel, pref.enabled)
            .outerjoin(pref, (pref.user_id == Membership.user_id) & (pref.kind == bindparam("kind")))
            .where(Membership.organization_id == bindparam("org_id")))


@functools.cache
def _insert_notifications():
    # (Core's INSERT: the columns' defaults apply; the ORM's bulk path cost more than the row)
    table = Notification.__table__
    return table.insert().returning(table.c.user_id, table.c.id)


def _enabled_for(user_ids: list[int], kind: str) -> dict[int, dict[str, bool]]:
    """Each user's channels for ``kind`` (no row: on), in one query."""
    chosen: dict[int, dict[str, bool]] = {user_id: {} for user_id in user_ids}
    for user_id, channel, enabled in db.session.execute(_choices_of_users(), {"user_ids": user_ids, "kind": kind}):
        chosen[user_id][channel] = enabled
    return {user_id: {channel: found.get(channel, True) for channel in CHANNELS} for user_id, found in chosen.items()}


def _members_choosing(org_id: int | None, kind: str) -> dict[int, dict[str, bool]]:
    """Each member of the organisation with their channels for ``kind`` (no row: on)."""
    if org_id is None:
        return {}
    chosen: dict[int, dict[str, bool]] = {}
    for user_id, channel, enabled in db.session.execute(_choices_of_members(), {"org_id": org_id, "kind": kind}):
        found = chosen.setdefault(user_id, {})
        if channel is not None:
            found[channel] = enabled
    return {user_id: {channel: found.get(channel, True) for channel in CHANNELS} for user_id, found in chosen.items()}


def render_text(key: str, params: dict, ) -> str:
    template = TEXTS.get(key)
    if template is None:
        return label(key, "notice")
    return text_of(template) % params


def text(note: Notification) -> str:
    """The notification as the reader reads it (their language)."""
    if not note.params:
        return label(note.message, "notice")
    return render_text(note.message, json.loads(note.params))


def tell(user_ids, kind: str, key: str, link: str | None, exclude: int | None = None, **params) -> int:
    """Notify these users (once each; never ``exclude``, the one who acted), or ``Everyone``
    of an organisation (or its members ``Chosen`` ahead, ``read_ahead``). Joins the caller's
    transaction. Returns how many were told in the app."""
    assert kind in KINDS and key in TEXTS, (kind, key)
    params = {k: str(v) for k, v in params.items()}
    if isinstance(user_ids, Everyone):  # (read now, as a caller reads them ahead)
        user_ids = read_ahead(user_ids, kind)
    if isinstance(user_ids, Chosen):
        assert user_ids.kind == kind, (user_ids.kind, kind)
        wanted = user_ids.choices
        users = [user_id for user_id in wanted if user_id != exclude]
    else:
        users = [user_id for user_id in dict.fromkeys(user_ids) if user_id != exclude]
        wanted = _enabled_for(users, kind) if users else {}  # (one query for all of them)
    if not users:
        return 0
    in_app = [user_id for user_id in users if wanted[user_id]["app"]]
    for user_id in users:
        if not wanted[user_id]["app"] and wanted[user_id]["mail"]:  # no row to write it from: written now
            _mail(db.session.get(User, user_id), key, params, link)
    if in_app:
        # The rows in one INSERT that returns their ids (the mail is written from them after
        # commit, compose_mail): nothing here reads the rows back as objects.
        text = json.dumps(params, ensure_ascii=False)
        # (each row's user with its id: one statement, in whatever order the database returns them)
        ids = dict(db.session.execute(_insert_notifications(),
                                      [{"user_id": user_id, "message": key, "link": link, "kind": kind,
                                        "params": text} for user_id in in_app]).all())
        for user_id in in_app:
            if wanted[user_id]["mail"]:
                enqueue(COMPOSE_TOPIC, str(ids[user_id]))
    return len(in_app)


def compose_mail(keys: list[str]) -> dict[str, Exception]:
    """The outbox handler of ``COMPOSE_TOPIC``: the mail of each notification, in its reader's
    language (the users with their notifications in one query), sent at once over one
    connection and recorded as sent (``OutgoingMail``, one statement for the batch). A message
    the server refused, or did not get because the connection was lost, is returned with its
    error: its outbox row stays and the retry writes and sends it alone; one that was sent is
    never sent again by a retry of another."""
    from marketplace.notifications.mail import deliver

    rows = db.session.execute(select(Notification.id, Notification.message, Notification.params, Notification.link,
                                     User).join(User, User.id == Notification.user_id)
                              .where(Notification.id.in_([int(key) for key in keys])).order_by(Notification.id))
    messages = []
    for note_id, key, params, link, user in rows:
        message = _message(user, key, json.loads(params) if params else {}, link)
        if message is not None:
            messages.append((str(note_id), *message))
    sent, failed = deliver(messages)
    if sent:
        lock_for_writing()  # (registered with sends=True: nothing was locked while sending)
        now, sent = utcnow(), set(sent)
        db.session.execute(insert(OutgoingMail), [
            {"recipient": recipient, "subject": subject, "body": body, "created_at": now, "sent_at": now}
            for key, recipient, subject, body in messages if key in sent])
    return failed


def _mail(user: User | None, key: str, params: dict, link: str | None) -> None:
    message = _message(user, key, params, link)
    if message is not None:
        queue_mail(*message)


def _message(user: User | None, key: str, params: dict, link: str | None) -> tuple[str, str, str] | None:
    """(recipient, subject, body) of a notification's mail in its reader's language; None for
    nobody (a user removed or switched off)."""
    if user is None or not user.active:
        return None
    base = current_app.config["EXTERNAL_BASE_URL"].rstrip("/")
    url = base + link if link else base + "/"
    with force_locale(user.locale or "zh"):
        line = render_text(key, params)
        subject = line if len(line) <= 120 else line[:119] + "…"
        # (the template itself, not render_template: no request's context processors for a mail)
        body = current_app.jinja_env.get_template(MAIL_TEMPLATE).render(
            user=user, line=line, url=url, preferences=base + "/notifications/preferences")
    return user.email, subject, body


# --- what the reader does -----------------------------------------------------------------

def unread_count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read.is_(False)))


def recent(user, limit: int = 100) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id.desc()).limit(limit)))


@transactional
def open_notification(user, notification_id: int) -> Notification:
    """Mark one's own notification read and return it (its link is where the reader goes)."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound(_("This notification does not exist."))
    if not note.read:
        note.read, note.read_at = True, utcnow()
    return note


@transactional
def mark_all_read(user) -> int:
    return db.session.execute(update(Notification).where(Notification.user_id == user.id,
                                                         Notification.read.is_(False))
                              .values(read=True, read_at=utcnow())).rowcount


def preferences(user) -> dict[str, dict[str, bool]]:
    return {kind: _enabled(user.id, kind) for kind in KINDS}


@transactional
def set_preferences(user, chosen: set[tuple[str, str]]) -> None:
    """``chosen``: the (kind, channel) pairs the user keeps; every other pair is switched off."""
    for kind, channel in chosen:
        if kind not in KINDS or channel not in CHANNELS:
            raise ServiceError(_("Choose among the kinds and channels shown."))
    for kind in KINDS:
        for channel in CHANNELS:
            row = db.session.get(NotificationPreference, (user.id, kind, channel))
            if row is None:
                row = NotificationPreference(user_id=user.id, kind=kind, channel=channel)
                db.session.add(row)
            row.enabled = (kind, channel) in chosen
