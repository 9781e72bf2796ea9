"""Shared form helpers."""
from __future__ import annotations

from flask_babel import gettext as _

from marketplace.core.errors import ServiceError


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
