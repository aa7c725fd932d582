"""Reading request bodies: JSON only, at most 1 MiB, malformed input refused precisely."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from fortytwo.http.errors import ApiError

MAX_BODY = 1024 * 1024
_EMPTY = object()


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", "The request body is larger than 1 MiB; send a smaller body.")


async def read_json(request: web.Request, *, required: bool = True) -> Any:
    """The parsed JSON body. Without a body: 400 if ``required``, else ``None``."""
    if not request.body_exists:
        if required:
            raise ApiError(400, "invalid_request", "Send a JSON object as the request body.")
        return None
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _too_large()
    mime = request.content_type
    if mime != "application/json" and not (mime.startswith("application/") and mime.endswith("+json")):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Bodies must be JSON; send Content-Type: application/json (got {mime or 'none'}).",
        )
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large() from None
    if len(raw) > MAX_BODY:
        raise _too_large()
    if not raw.strip():
        if required:
            raise ApiError(400, "invalid_request", "Send a JSON object as the request body.")
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "invalid_request",
            f"The body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}).",
        ) from None
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_request", "The body is not valid UTF-8 JSON.") from None
    check_text(value)
    return value


def _printable_path(path: str) -> str:
    return path.encode("utf-8", "backslashreplace").decode("utf-8")


def _find_bad_text(body: Any) -> str | None:
    """The path of the first string (or key) that is not valid Unicode text, if any.

    JSON escapes can spell unpaired surrogates (``"\\ud800"``); such strings cannot be
    stored or sent back as UTF-8, so they are refused up front. Iterative, so any nesting
    depth the JSON parser accepted is fine here too.
    """
    stack: list[tuple[Any, str]] = [(body, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                stack.append((item, where))
                stack.append((key, where))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))
    return None


def check_text(body: Any) -> None:
    """400 ``invalid_request`` when the body carries text that is not valid Unicode."""
    bad = _find_bad_text(body)
    if bad is not None:
        raise ApiError(
            400, "invalid_request",
            "The body contains an unpaired surrogate escape (\\ud800-\\udfff); "
            "send valid Unicode text.",
            {"field": _printable_path(bad)},
        )


async def read_json_object(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    body = await read_json(request, required=required)
    if body is None:
        if request.body_exists and (await request.read()).strip():  # a literal JSON null
            raise ApiError(400, "invalid_request", "The body must be a JSON object ({...}).")
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object ({...}).")
    return body
