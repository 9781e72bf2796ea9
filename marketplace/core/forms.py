"""Shared form helpers: a refusal is shown beside what the person typed, never on a bare page."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField

from marketplace.core.errors import ServiceError
from marketplace.core.money import MoneyError, read_typed_yuan

# Refusals a form shows beside its fields (bad input 400, not allowed 403, taken or changed
# meanwhile 409); "not found" (404) is about the page, not the input, and gets the error page.
REFUSALS = (400, 403, 409)


def attach_error(form, exc: ServiceError, keep=(400,)) -> int:
    """Show a service's refusal beside the field it names, or above the form; returns the
    status the page is answered with (``form.refusal_status`` too).

    A refusal whose status is not in ``keep`` is re-raised so the error handler answers it
    with its own status. Pages that re-render their form on any refusal pass
    ``keep=REFUSALS``.
    """
    if exc.status not in keep:
        raise exc
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [exc.message]
    else:
        form.form_errors.append(exc.message)
    form.refusal_status = max(getattr(form, "refusal_status", 400), exc.status)
    return form.refusal_status


def submit(form, act, page, done):
    """Run one POST action whose form lives on another page (a listing, an enquiry).

    Invalid input or a refusal (400, 403, 409) re-renders that page with this form bound to
    what was typed and the reason beside the field: ``page(form, status)`` returns the
    response. Otherwise ``done(act(form))`` answers (usually a redirect). A 404 is re-raised.
    """
    if not form.validate_on_submit():
        return page(form, 400)
    try:
        result = act(form)
    except ServiceError as exc:
        return page(form, attach_error(form, exc, keep=REFUSALS))
    return done(result)


def validated(form):
    """The form, if its input is valid; otherwise a 400 naming every problem, nothing done.
    For POST-only actions whose form lives on another page and that have no page to go back
    to (prefer ``submit``)."""
    if not form.validate_on_submit():
        message = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        raise ServiceError(message or _("The request could not be understood."))
    return form


AMOUNT_HINT = _l("Enter an amount in yuan, for example 800000, 800,000, 80万, 八十万元 or 12000.50 "
                 "(at most two decimals, at most 999999999999.99).")


class YuanField(StringField):
    """An amount in yuan typed by a person, kept as integer fen (``.fen``). Reads the
    spellings ``marketplace.core.money.read_typed_yuan`` reads (80万, 八十万元, 800,000)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.fen = None
        raw = (self.data or "").strip()
        if raw:
            try:
                self.fen = read_typed_yuan(raw)
            except MoneyError:
                self.fen = None
                raise ValueError(AMOUNT_HINT)

    def _value(self):
        return self.data or ""


def choices(values, group=None):
    """Options for a select field: each code with its label, kept lazy so each page shows it
    in the reader's language (a label turned into text at import stays English)."""
    from marketplace.core import labels

    names = labels.GROUPS.get(group, {}) if group else {}
    return [(v, names.get(v, v)) for v in values]
