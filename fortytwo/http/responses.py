"""Building JSON responses in the contract's envelopes."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from aiohttp import web

REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL = web.RequestKey("principal", "Principal")
RATE = web.RequestKey("rate", "RateDecision")



def new_request_id() -> str:
    """The id every response carries in ``X-Request-Id`` and in error envelopes."""
    return "req_" + os.urandom(16).hex()


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=_dumps(payload).encode("utf-8"),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def ok(
    request: web.Request,
    data: Any,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    page: tuple[str | None, bool] | None = None,
) -> web.Response:
    meta: dict[str, Any] = {"request_id": request[REQUEST_ID]}
    if page is not None:
        meta["next_cursor"], meta["has_more"] = page
    return json_response({"data": data, "meta": meta}, status, headers)


def error_body(code: str, message: str, details: Mapping[str, Any], request_id: str) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": dict(details),
            "request_id": request_id,
        }
    }
