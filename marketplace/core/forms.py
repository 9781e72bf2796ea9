"""Shared form helpers."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField

from marketplace.core.errors import ServiceError
from marketplace.core.money import MoneyError, parse_yuan


def attach_error(form, exc: ServiceError) -> None:
    """Show a service's refusal beside the field it names, or above the form.

    A refusal that is not about the input (forbidden, not found) is re-raised so the
    error handler answers it with its own status.
    """
    if exc.status != 400:
        raise exc
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    else:
        form.form_errors.append(exc.message)


def validated(form):
    """The form, if its input is valid; otherwise a 400 naming every problem, nothing done.
    For POST-only actions whose form lives on another page."""
    if not form.validate_on_submit():
        message = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        raise ServiceError(message or _("The request could not be understood."))
    return form


class YuanField(StringField):
    """An amount in yuan typed by a person, kept as integer fen (``.fen``)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.fen = None
        raw = (self.data or "").strip()
        if raw:
            try:
                self.fen = parse_yuan(raw)
            except MoneyError:
                self.fen = None
                raise ValueError(_l("Enter an amount in yuan of at most 999999999999.99: digits only, no commas, "
                                    "signs or exponents, with up to two decimals, like 12000 or 12000.50."))

    def _value(self):
        return self.data or ""


def choices(values, group=None):
    from marketplace.core import labels

    return [(v, labels.label(v, group) if group else v) for v in values]
