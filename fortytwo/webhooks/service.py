"""What the webhook endpoints and commands do: validation, sandboxes, secrets, the test send.

Every subscription lives in a sandbox (:class:`~fortytwo.store.webhooks.Owner`): the personal
access token that created it at its rotation generation, the OAuth client that created it,
or the command line. A caller sees and changes only its own sandbox; anything else is the
same 404 ``webhook_not_found`` as an id that never existed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fortytwo.db.database import Conn, Database
from fortytwo.http.cursor import decode_cursor, encode_cursor
from fortytwo.http.errors import ApiError, ValidationErrors
from fortytwo.services.authn import Principal
from fortytwo.services.errors import NotFound
from fortytwo.store import webhooks as store
from fortytwo.store.common import is_uuid
from fortytwo.store.webhooks import DeliveryRow, Owner, WebhookRow
from fortytwo.timefmt import Clock, format_ts
from fortytwo.webhooks.delivery import Deliverer, envelope_body
from fortytwo.webhooks.names import DOTTED, EVENT_NAMES, UNDERSCORE, to_underscore
from fortytwo.webhooks.secrets import new_secret, seal, unseal
from fortytwo.webhooks.synthetic import synthetic_data
from fortytwo.webhooks.targets import Target, TargetError, Targets

MAX_PER_SANDBOX = 25
MAX_DESCRIPTION = 255
WRITABLE = ("url", "events", "description", "status")
STATUSES = ("active", "paused")
PAUSED_BY_FAILURES = "consecutive_failures"


def owner_of(principal: Principal) -> Owner:
    """The sandbox of an API caller."""
    if principal.auth_type == "oauth":
        return Owner(principal.organization_id, "oauth", principal.client_id or "", 0)
    return Owner(principal.organization_id, "pat", principal.credential_id, principal.generation)


def webhook_view(row: WebhookRow, secret: str | None = None) -> dict[str, Any]:
    """The reference ``Webhook`` (``WebhookWithSecret`` when ``secret`` is given)."""
    data: dict[str, Any] = {
        "id": row.id,
        "url": row.url,
        "events": list(row.events),
        "status": row.status,
        "description": row.description,
        "paused_reason": row.paused_reason,
        "last_delivery_at": row.last_delivery_at,
        "last_delivery_ok": row.last_delivery_ok,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if secret is not None:
        data["signing_secret"] = secret
    return data


def delivery_view(row: DeliveryRow) -> dict[str, Any]:
    """The reference ``WebhookDelivery``: the delivery's latest attempt."""
    return {
        "id": row.id,
        "event": to_underscore(row.event),
        "attempt": row.attempt,
        "status_code": row.status_code,
        "error": row.error,
        "delivered_at": row.delivered_at,
        "created_at": row.created_at,
    }


def not_found() -> ApiError:
    return ApiError(
        404,
        "webhook_not_found",
        "No such webhook among the ones this credential created; "
        "GET /v1/webhooks lists them.",
        {},
    )


def invalid_url(exc: TargetError) -> ApiError:
    return ApiError(
        422, "invalid_webhook_url", exc.message, {"reason": exc.reason, "field": "url"}
    )


# -- request bodies -------------------------------------------------------------------------
def _events(value: Any, errors: ValidationErrors) -> list[str]:
    if not isinstance(value, list):
        errors.add("events", "must be an array of event names such as booking_created")
        return []
    if not value:
        errors.add("events", "must name at least one event")
        return []
    found: list[str] = []
    for index, item in enumerate(value):
        where = f"events[{index}]"
        if not isinstance(item, str):
            errors.add(where, "must be a string such as booking_created")
        elif item in UNDERSCORE:
            errors.add(
                where,
                f"{item!r} is the delivery name; subscribe with the underscore name "
                f"{UNDERSCORE[item]!r}",
            )
        elif item not in DOTTED:
            errors.add(where, f"unknown event {item!r}; use one of {', '.join(EVENT_NAMES)}")
        elif item not in found:
            found.append(item)
    return found


def _description(value: Any, errors: ValidationErrors) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add("description", "must be a string")
        return None
    if len(value) > MAX_DESCRIPTION:
        errors.add("description", f"must be at most {MAX_DESCRIPTION} characters")
        return None
    return value


def _url(value: Any, errors: ValidationErrors) -> str | None:
    if not isinstance(value, str):
        errors.add("url", "must be a string holding an https:// URL")
        return None
    return value


def parse_create(body: Mapping[str, Any]) -> tuple[str, list[str], str | None]:
    """``url``, ``events``, ``description`` of a create body (unknown fields are ignored)."""
    errors = ValidationErrors()
    url = None
    if "url" not in body:
        errors.add("url", "is required")
    else:
        url = _url(body["url"], errors)
    events: list[str] = []
    if "events" not in body:
        errors.add("events", "is required")
    else:
        events = _events(body["events"], errors)
    description = _description(body.get("description"), errors)
    errors.raise_if_any()
    assert url is not None
    return url, events, description


def parse_update(body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a PATCH body sets; anything but the four writable fields is a 422."""
    immutable = sorted(k for k in body if k not in WRITABLE)
    if immutable:
        raise ApiError(
            422,
            "field_immutable",
            f"Only {', '.join(WRITABLE)} can be changed; remove {', '.join(immutable)}.",
            {"fields": immutable},
        )
    errors = ValidationErrors()
    changes: dict[str, Any] = {}
    if "url" in body:
        changes["url"] = _url(body["url"], errors)
    if "events" in body:
        changes["events"] = _events(body["events"], errors)
    if "description" in body:
        changes["description"] = _description(body["description"], errors)
    if "status" in body:
        if body["status"] not in STATUSES:
            errors.add("status", "must be active or paused")
        changes["status"] = body["status"]
    errors.raise_if_any()
    return changes


def _parse_target(targets: Targets, url: str) -> Target:
    try:
        return targets.parse(url)
    except TargetError as exc:
        raise invalid_url(exc) from None


async def _vet(targets: Targets, target: Target) -> None:
    try:
        await targets.addresses(target.host, target.port)
    except TargetError as exc:
        raise invalid_url(exc) from None


def _duplicate(existing: str) -> ApiError:
    return ApiError(
        409,
        "duplicate_webhook_url",
        "This credential already has a webhook for that URL; change its events with PATCH "
        "instead of subscribing twice.",
        {"webhook_id": existing},
    )


async def _get(conn: Conn, owner: Owner, webhook_id: str) -> WebhookRow:
    if not is_uuid(webhook_id):
        raise not_found()
    row = await store.get_in_sandbox(conn, owner, webhook_id.lower())
    if row is None:
        raise not_found()
    return row


# -- operations -----------------------------------------------------------------------------
async def create(
    db: Database,
    targets: Targets,
    server_key: bytes,
    owner: Owner,
    body: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """A new active webhook in ``owner``'s sandbox; the answer carries its secret, once."""
    url, events, description = parse_create(body)
    target = _parse_target(targets, url)
    await _vet(targets, target)
    webhook_id = str(uuid.uuid4())
    secret = new_secret()
    async with db.write() as conn:
        existing = await store.id_with_url(conn, owner, target.key)
        if existing is not None:
            raise _duplicate(existing)
        if await store.count_in_sandbox(conn, owner) >= MAX_PER_SANDBOX:
            raise ApiError(
                422,
                "validation_error",
                f"This credential already has {MAX_PER_SANDBOX} webhooks, the most it may "
                "have; delete one or add events to an existing one.",
                {
                    "errors": [{"field": "url", "issue": f"at most {MAX_PER_SANDBOX} webhooks per credential"}],
                    "limit": MAX_PER_SANDBOX,
                },
            )
        await store.insert_webhook(
            conn,
            webhook_id=webhook_id,
            owner=owner,
            url=url,
            url_key=target.key,
            events=events,
            description=description,
            secret=seal(server_key, webhook_id, secret),
            now=now,
        )
        row = await store.get_webhook(conn, webhook_id)
    assert row is not None
    return webhook_view(row, secret)


async def list_webhooks(db: Database, owner: Owner) -> list[dict[str, Any]]:
    return [webhook_view(r) for r in await store.list_in_sandbox(db.reader, owner)]


async def get(db: Database, owner: Owner, webhook_id: str) -> dict[str, Any]:
    return webhook_view(await _get(db.reader, owner, webhook_id))


async def update(
    db: Database,
    targets: Targets,
    owner: Owner,
    webhook_id: str,
    body: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """PATCH: validate, find (404), vet a new URL, then write. Any PATCH resets the count of
    failed deliveries; ``status`` (either value) clears ``paused_reason``."""
    changes = parse_update(body)
    target = _parse_target(targets, changes["url"]) if "url" in changes else None
    await _get(db.reader, owner, webhook_id)
    if target is not None:
        await _vet(targets, target)
    async with db.write() as conn:
        row = await _get(conn, owner, webhook_id)
        columns: dict[str, Any] = {}
        if target is not None:
            existing = await store.id_with_url(conn, owner, target.key, row.id)
            if existing is not None:
                raise _duplicate(existing)
            columns["url"] = target.url
            columns["url_key"] = target.key
        if "events" in changes:
            columns["events"] = changes["events"]
        if "description" in changes:
            columns["description"] = changes["description"]
        if "status" in changes:
            columns["status"] = changes["status"]
            columns["paused_reason"] = None
        await store.update_webhook(conn, row.id, columns, now)
        fresh = await store.get_webhook(conn, row.id)
    assert fresh is not None
    return webhook_view(fresh)


class RecentDeletes:
    """Makes concurrent duplicate DELETEs both succeed while a later repeat is a 404.

    A DELETE that finds nothing still answers 204 when the same sandbox deleted that webhook
    *after* this request arrived: the two requests overlapped. One that arrives after the
    deletion finished is a sequential repeat and gets the 404. Kept in memory for a minute;
    the server is the only process that deletes webhooks.
    """

    KEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self._gone: dict[str, tuple[Owner, float]] = {}

    def record(self, webhook_id: str, owner: Owner) -> None:
        now = time.monotonic()
        for key in [k for k, (_, at) in self._gone.items() if now - at > self.KEEP_SECONDS]:
            del self._gone[key]
        self._gone[webhook_id] = (owner, now)

    def overlapped(self, webhook_id: str, owner: Owner, arrived: float) -> bool:
        entry = self._gone.get(webhook_id)
        return entry is not None and entry[0] == owner and arrived <= entry[1]


async def delete(
    db: Database, recent: RecentDeletes, owner: Owner, webhook_id: str, arrived: float
) -> None:
    """Delete the webhook and its delivery log; pending deliveries are dropped with it.
    ``arrived`` is the request's ``time.monotonic()`` on arrival."""
    if not is_uuid(webhook_id):
        raise not_found()
    webhook_id = webhook_id.lower()
    async with db.write() as conn:
        row = await store.get_in_sandbox(conn, owner, webhook_id)
        if row is not None:
            await store.delete_webhook(conn, webhook_id)
    if row is not None:
        recent.record(webhook_id, owner)
        return
    if not recent.overlapped(webhook_id, owner, arrived):
        raise not_found()


async def rotate_secret(
    db: Database, server_key: bytes, owner: Owner, webhook_id: str, now: datetime
) -> dict[str, Any]:
    """A new secret, which signs every attempt from now on; the old one is gone."""
    secret = new_secret()
    async with db.write() as conn:
        row = await _get(conn, owner, webhook_id)
        await store.update_webhook(
            conn, row.id, {"secret": seal(server_key, row.id, secret)}, now, reset=False
        )
        fresh = await store.get_webhook(conn, row.id)
    assert fresh is not None
    return webhook_view(fresh, secret)


async def send_test(
    db: Database,
    deliverer: Deliverer,
    server_key: bytes,
    clock: Clock,
    owner: Owner,
    webhook_id: str,
) -> dict[str, Any]:
    """One synchronous attempt of a synthetic event (the webhook's first subscribed one), even
    when the webhook is paused. Logged with the deliveries; not retried; no effect on
    ``last_delivery_*`` or on the failure count behind auto-pause."""
    row = await _get(db.reader, owner, webhook_id)
    now = clock()
    event = DOTTED[row.events[0]]
    event_id = f"evt_{uuid.uuid4()}"
    delivery_id = f"dlv_{uuid.uuid4()}"
    payload = json.dumps(synthetic_data(event, row.organization_id, now), separators=(",", ":"))
    outcome = await deliverer.attempt(
        url=row.url,
        secret=unseal(server_key, row.id, row.secret),
        delivery_id=delivery_id,
        event=event,
        attempt=1,
        timestamp=int(now.timestamp()),
        body=envelope_body(event_id, event, format_ts(now), payload),
        test=True,
    )
    done = clock()
    async with db.write() as conn:
        if await store.get_webhook(conn, row.id) is None:
            raise not_found()
        logged = await store.insert_test_delivery(
            conn,
            delivery_id=delivery_id,
            webhook=row,
            event_id=event_id,
            event=event,
            status="succeeded" if outcome.ok else "failed",
            status_code=outcome.status_code,
            error=outcome.error,
            delivered_at=done if outcome.ok else None,
            now=now,
        )
    return delivery_view(logged)


def _cursor_kind(webhook_id: str) -> str:
    return f"webhook_deliveries/{webhook_id}"


def decode_deliveries_cursor(secret: bytes, webhook_id: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    keys = decode_cursor(secret, cursor, kind=_cursor_kind(webhook_id.lower()), sort="newest")
    if len(keys) != 1 or not isinstance(keys[0], int) or isinstance(keys[0], bool):
        raise ApiError(
            400,
            "invalid_query_param",
            "The cursor is not valid: pass meta.next_cursor from the previous page unchanged, "
            "or omit cursor to start again from the first page.",
            {"param": "cursor"},
        )
    return keys[0]


async def list_deliveries(
    db: Database,
    secret: bytes,
    owner: Owner,
    webhook_id: str,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """A page of the webhook's deliveries, newest first, and the next page's cursor."""
    before = decode_deliveries_cursor(secret, webhook_id, cursor) if is_uuid(webhook_id) else None
    row = await _get(db.reader, owner, webhook_id)
    rows, has_more = await store.list_deliveries(db.reader, row.id, before_n=before, limit=limit)
    next_cursor = (
        encode_cursor(secret, _cursor_kind(row.id), "newest", [rows[-1].n])
        if has_more and rows
        else None
    )
    return [delivery_view(r) for r in rows], next_cursor, has_more


# -- operator actions (command line) ----------------------------------------------------------
async def resume(db: Database, webhook_id: str, now: datetime) -> WebhookRow:
    """Set a webhook active again (whoever owns it), clearing the pause and the failure count."""
    async with db.write() as conn:
        row = await store.get_webhook(conn, webhook_id.lower()) if is_uuid(webhook_id) else None
        if row is None:
            raise NotFound(f"no webhook {webhook_id!r}; see `fortytwo webhooks list`")
        await store.update_webhook(conn, row.id, {"status": "active", "paused_reason": None}, now)
        fresh = await store.get_webhook(conn, row.id)
    assert fresh is not None
    return fresh
