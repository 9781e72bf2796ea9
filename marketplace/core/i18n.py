"""The request's translations, looked up once per request.

Flask-Babel finds the translations afresh for every string (several context lookups and a
locale-to-string conversion each time); a page with a table of labels asks hundreds of times.
``translations()`` keeps what it found on Flask-Babel's own per-request context, keyed by the
locale and domain objects there, so ``force_locale`` or ``refresh`` still take effect at once.
"""
from __future__ import annotations

from flask import g
from flask_babel import get_translations
from flask_babel import gettext as _babel_gettext


def translations():
    """What ``flask_babel.get_translations()`` returns, found once per request and locale."""
    try:
        ctx = g._flask_babel
    except (AttributeError, RuntimeError):  # first lookup of the request, or no app context
        return get_translations()
    cached = getattr(ctx, "marketplace_translations", None)
    if (cached is not None and cached[0] is getattr(ctx, "babel_locale", None)
            and cached[1] is getattr(ctx, "babel_domain", None)):
        return cached[2]
    found = get_translations()  # sets ctx.babel_locale and ctx.babel_domain
    ctx.marketplace_translations = (getattr(ctx, "babel_locale", None), getattr(ctx, "babel_domain", None), found)
    return found


def install(app) -> None:
    """Make the templates' ``_``/``gettext``/``ngettext``/... use ``translations()`` (the same
    callables Flask-Babel installs, minus the repeated lookup). Call after ``babel.init_app``."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )


def text_of(value) -> str:
    """``str(value)``; a plain ``lazy_gettext`` string (no variables) through ``translations()``."""
    if (getattr(value, "_func", None) is _babel_gettext and not getattr(value, "_kwargs", True)
            and len(getattr(value, "_args", ())) == 1):
        return translations().ugettext(value._args[0])
    return str(value)
