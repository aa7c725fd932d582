"""Errors raised by services; the HTTP layer and the CLI each render them their own way."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused operation, with a message that says what to do."""


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class Invalid(ServiceError):
    pass
