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
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "invalid_request",
            f"The body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}).",
        ) from None
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_request", "The body is not valid UTF-8 JSON.") from None


async def read_json_object(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    body = await read_json(request, required=required)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object ({...}).")
    return body
