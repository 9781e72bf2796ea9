"""Who may book what, and why not: the reasons a person is shown before they try.

Pure questions over the settings, the qualification and the clock; services ask them before
they write, pages ask them to explain a missing form.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from marketplace.instruments.models import InstrumentSettings, Qualification


def qualification_reason(settings: InstrumentSettings, qualification: Qualification | None, day: date) -> str | None:
    """Why this user may not operate the instrument on ``day`` (None: they may)."""
    if not settings.requires_training:
        return None
    if qualification is None:
        return _("Self-operation needs training on this instrument, and you have not been trained on it yet. "
                 "Book a training session below.")
    if qualification.revoked_at is not None:
        return _("Your qualification for this instrument was withdrawn by its manager. Book a training session "
                 "to be qualified again.")
    if day > qualification.expires_on:
        return _("Your qualification for this instrument lapsed on %(day)s. Book a training session to renew it.",
                 day=qualification.expires_on.isoformat())
    if day < qualification.qualified_on:
        return _("Your qualification starts on %(day)s.", day=qualification.qualified_on.isoformat())
    return None


def self_booking_reasons(settings: InstrumentSettings | None, qualification: Qualification | None,
                         day: date) -> list[str]:
    """Everything that stops a user from booking the instrument for self-operation."""
    if settings is None or not settings.self_mode:
        return [_("This instrument is not offered for self-operation; send samples instead.")]
    reason = qualification_reason(settings, qualification, day)
    return [reason] if reason else []


def hours_rule_reason(settings: InstrumentSettings, open_from: int, open_to: int, start_at: datetime,
                      hours: int) -> str | None:
    """The instrument's opening hours and longest run: None when ``start_at`` + ``hours`` fits."""
    if not 1 <= hours <= settings.max_hours:
        return _("Book between 1 and %(n)d hours.", n=settings.max_hours)
    if settings.overnight:
        return None
    end_at = start_at + timedelta(hours=hours)
    if start_at.hour < open_from or end_at.date() != start_at.date() and end_at.time() != datetime.min.time() \
            or (end_at.hour or 24) > open_to:
        return _("The instrument is open from %(a)d:00 to %(b)d:00; runs overnight are not allowed.",
                 a=open_from, b=open_to)
    return None


def week_of(day: date) -> tuple[date, date]:
    """Monday and the next Monday of the week ``day`` is in (quotas count per week)."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=7)
