"""Errors that services raise and views turn into responses."""


class ServiceError(Exception):
    """A request the service refuses; ``message`` is user-facing (already translated)."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class PermissionDenied(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


# --- the error page: what happened, in words, and the way back ---------------------------

def status_title(status: int) -> str:
    """A heading in words for an error page (the number stays in the page's title)."""
    from flask_babel import gettext as _

    titles = {
        400: _("This could not be done"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Not possible here"),
        409: _("Someone was quicker"),
        413: _("The upload is too large"),
        429: _("Too many requests"),
        503: _("Busy for a moment"),
    }
    return titles.get(status, _("Something went wrong"))


# Where to go back to when the browser sent no address of ours: the list of the part of the
# site the failed address belongs to (first path segment -> endpoint).
_LISTS = {
    "listings": "listings.browse", "orders": "orders.orders", "enquiries": "orders.enquiries",
    "bookings": "orders.bookings", "contracts": "orders.orders", "instruments": "instruments.mine",
    "vouchers": "vouchers.mine", "claims": "claims.mine", "offers": "orders.enquiries",
    "threads": "talk.notifications", "notifications": "talk.notifications", "my": "listings.mine",
    "review": "review.queue", "programmes": "programmes.index", "reforms": "reforms.index",
    "admin": "admin.audit", "dashboards": "dashboards.overview", "demands": "listings.browse",
}


def back_link() -> str:
    """Where the person was: the Referer when it is a page of this site (and not the address
    that failed), else the list of the part of the site they were in, else the front page."""
    from urllib.parse import urlsplit

    from flask import request, url_for
    from werkzeug.routing import BuildError

    referrer = request.referrer
    if referrer:
        parts = urlsplit(referrer)
        same_site = not parts.netloc or parts.netloc == request.host
        if same_site and parts.scheme in ("", "http", "https") and parts.path.startswith("/") \
                and not parts.path.startswith("//") and parts.path != request.path:
            return parts.path + (f"?{parts.query}" if parts.query else "")
    segment = request.path.strip("/").split("/", 1)[0]
    if segment in _LISTS:
        try:
            return url_for(_LISTS[segment])
        except BuildError:
            pass
    return url_for("home.index")
