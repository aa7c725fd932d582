"""One delivery attempt over HTTP, and the shared client that makes them.

Success is any 2xx within the timeout. A redirect is not followed and counts as a failure, as
do every other status, a timeout, a refused or failed connection, and a target that no longer
passes the address rules. The response body is not needed and is not read beyond a little.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass

import aiohttp
import certifi

from fortytwo.webhooks.names import API_VERSION
from fortytwo.webhooks.signing import delivery_headers
from fortytwo.webhooks.targets import TargetError, TargetRefused, Targets, VettingResolver

_READ_AT_MOST = 64 * 1024
_ERROR_MAX = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


def envelope_body(event_id: str, event: str, created_at: str, payload_json: str) -> bytes:
    """The exact bytes of a delivery: the envelope around the outbox's ``data`` JSON text."""
    head = json.dumps(
        {"id": event_id, "event": event, "createdAt": created_at, "apiVersion": API_VERSION},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return (head[:-1] + ',"data":' + payload_json + "}").encode("utf-8")


def make_session(targets: Targets, timeout_seconds: float) -> aiohttp.ClientSession:
    """The one HTTP client of the webhook deliveries: public CAs from certifi, names resolved
    (and vetted) on every new connection, no proxies from the environment, no cookies."""
    context = ssl.create_default_context(cafile=certifi.where())
    connector = aiohttp.TCPConnector(
        ssl=context,
        resolver=VettingResolver(targets),
        use_dns_cache=False,
        limit=256,
        limit_per_host=0,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    )


def _short(text: str) -> str:
    return text if len(text) <= _ERROR_MAX else text[: _ERROR_MAX - 1] + "…"


class Deliverer:
    """Makes attempts; at most ``per_target`` at a time to one host and port."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        targets: Targets,
        *,
        timeout_seconds: float,
        per_target: int,
    ) -> None:
        self.session = session
        self.targets = targets
        self.timeout_seconds = timeout_seconds
        self.per_target = per_target
        self._gates: dict[tuple[str, int], asyncio.Semaphore] = {}

    def _gate(self, host: str, port: int) -> asyncio.Semaphore:
        gate = self._gates.get((host, port))
        if gate is None:
            gate = self._gates[(host, port)] = asyncio.Semaphore(self.per_target)
        return gate

    async def attempt(
        self,
        *,
        url: str,
        secret: str,
        delivery_id: str,
        event: str,
        attempt: int,
        timestamp: int,
        body: bytes,
        test: bool = False,
    ) -> Outcome:
        try:
            target = self.targets.parse(url)
            if target.literal:
                # an IP literal never reaches the resolver: vet it here
                await self.targets.addresses(target.host, target.port)
        except TargetError as exc:
            return Outcome(False, None, _short(f"target refused ({exc.reason}): {exc.message}"))
        headers = delivery_headers(
            secret=secret, delivery_id=delivery_id, event=event, attempt=attempt,
            timestamp=timestamp, body=body, test=test,
        )
        async with self._gate(target.host, target.port):
            try:
                async with self.session.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as resp:
                    status = resp.status
                    location = resp.headers.get("Location", "")
                    await resp.content.read(_READ_AT_MOST)
            except aiohttp.ClientConnectorDNSError as exc:
                if isinstance(exc.os_error, TargetRefused):
                    error = exc.os_error.error
                    return Outcome(
                        False, None, _short(f"target refused ({error.reason}): {error.message}")
                    )
                return Outcome(False, None, _short(f"could not resolve the host: {exc.os_error}"))
            except TimeoutError:
                return Outcome(
                    False, None, f"no answer within {self.timeout_seconds:g} seconds"
                )
            except aiohttp.ClientError as exc:
                return Outcome(False, None, _short(f"connection failed: {exc}"))
            except OSError as exc:
                return Outcome(False, None, _short(f"connection failed: {exc}"))
        if 200 <= status < 300:
            return Outcome(True, status, None)
        if 300 <= status < 400:
            where = f" to {location}" if location else ""
            return Outcome(False, status, _short(f"redirect{where} not followed (HTTP {status})"))
        return Outcome(False, status, f"the receiver answered HTTP {status}")
