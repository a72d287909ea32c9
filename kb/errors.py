"""The few exceptions that carry an HTTP status; one handler in kb.web renders them."""

from __future__ import annotations

from typing import Any


class KBError(Exception):
    """A problem to report to the user, with the HTTP status that fits it."""

    status = 500

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(KBError):
    """A setting has an invalid value; the CLI prints it and exits with status 2."""

    status = 500


class BadRequest(KBError):
    status = 400


class Forbidden(KBError):
    status = 403


class NotFound(KBError):
    status = 404


class Conflict(KBError):
    status = 409


class UnsupportedMediaType(KBError):
    status = 415


class ValidationFailed(KBError):
    """The request was understood but a field is wrong; details maps field -> message."""

    status = 422


class TooManyRequests(KBError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
