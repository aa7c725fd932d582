"""The one exception type handlers raise to answer with the contract's error envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An error answer: HTTP status, stable code, a message that says what to do."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})


def bad_param(param: str, message: str) -> ApiError:
    return ApiError(400, "invalid_query_param", message, {"param": param})


class ValidationErrors:
    """Collects every bad field of a body, then raises one 400 ``validation_error``."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, issue: str) -> None:
        self.errors.append({"field": field, "issue": issue})

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            first = self.errors[0]
            more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            raise ApiError(
                400,
                "validation_error",
                f"The request body is invalid: {first['field']}: {first['issue']}{more}.",
                {"errors": self.errors},
            )
