"""Errors a use case raises; views turn them into 4xx responses with clear messages."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class InvalidInput(ServiceError):
    status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    """Someone saved in between: ``current`` is what is stored now, ``submitted`` is ours."""

    status = 409

    def __init__(self, message: str, *, current: Any, submitted: dict[str, Any]) -> None:
        super().__init__(message)
        self.current = current
        self.submitted = submitted
