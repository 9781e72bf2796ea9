"""The one shape of a form page, so views stay thin: validate the form, call one service, and
either answer its result (flash and redirect, as a rule) or show the form again with the
user's input kept and the reason beside the field it concerns (400)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue

from marketplace.core.errors import ServiceError
from marketplace.core.forms import attach_error

T = TypeVar("T")


def form_status(form) -> int:
    """200 for a form shown for the first time, 400 for one shown again with its problems."""
    return 400 if form.errors or form.form_errors else 200


def handle_form(form, action: Callable[[], T], *, done: Callable[[T], ResponseReturnValue],
                page: Callable[[Any], str], validate: bool = True) -> ResponseReturnValue:
    """``action()`` when the submitted form is valid, then ``done(its result)``. Otherwise (not
    submitted, invalid, or refused by the service: the refusal goes beside the field it names,
    or above the form) ``page(form)`` with the form as typed and the status ``form_status``
    gives. A refusal that is not about the input (forbidden, not found) propagates.

    ``validate=False``: the service checks the input itself, so its own words are the ones shown
    (the form only carries the values)."""
    if form.validate_on_submit() if validate else form.is_submitted():
        try:
            result = action()
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            return done(result)
    return page(form), form_status(form)


def flash_redirect(message: str, endpoint: str, category: str = "success", **values) -> ResponseReturnValue:
    """Say what was done, then go to the page that shows it (post/redirect/get)."""
    flash(message, category)
    return redirect(url_for(endpoint, **values))
