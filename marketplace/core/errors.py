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
