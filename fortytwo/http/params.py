"""Query-string parsing shared by the ``/v1`` endpoints.

Every failure is a 400 ``invalid_query_param`` whose ``details.param`` names the parameter
and whose message says what to send instead. A parameter given more than once counts by its
first value; unknown parameters are ignored (contract 2.2).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping

from fortytwo.http.errors import bad_param

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

_DIGITS = re.compile(r"-?[0-9]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def parse_limit(
    query: Mapping[str, str], *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
) -> int:
    """``limit``: ``default`` when absent, at least 1, values above ``maximum`` clamped."""
    text = query.get("limit")
    if text is None:
        return default
    hint = f"send an integer from 1 to {maximum} (larger values are clamped to {maximum})"
    if not _DIGITS.fullmatch(text):
        raise bad_param("limit", f"limit must be a whole number; {hint}.")
    if text.startswith("-"):
        raise bad_param("limit", f"limit must be at least 1; {hint}.")
    digits = text.lstrip("0")
    if not digits:
        raise bad_param("limit", f"limit must be at least 1; {hint}.")
    if len(digits) > len(str(maximum)):  # huge numbers clamp without converting them
        return maximum
    return min(int(digits), maximum)


def parse_bool(query: Mapping[str, str], name: str) -> bool | None:
    """``true`` / ``false`` (exactly, lowercase); None when absent."""
    text = query.get(name)
    if text is None:
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    raise bad_param(name, f"{name} must be true or false; send {name}=true or {name}=false.")


def parse_choice(
    query: Mapping[str, str], name: str, choices: Collection[str], default: str
) -> str:
    """One of ``choices`` (exact spelling); ``default`` when absent."""
    text = query.get(name)
    if text is None:
        return default
    if text not in choices:
        listed = ", ".join(choices)
        raise bad_param(
            name, f"{name} must be one of {listed}; send one of those or leave {name} out."
        )
    return text


def parse_uuid(query: Mapping[str, str], name: str) -> str | None:
    """A UUID in its usual 36-character form, returned lowercase; None when absent."""
    text = query.get(name)
    if text is None:
        return None
    if not _UUID.fullmatch(text):
        raise bad_param(
            name,
            f"{name} must be a UUID such as 3f2c1a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f; "
            "send the id exactly as the API returned it.",
        )
    return str(uuid.UUID(text))
