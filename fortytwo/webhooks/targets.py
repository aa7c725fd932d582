"""Where deliveries may go: URL rules, and address vetting against server-side request forgery.

A webhook URL must be ``https`` and its host must resolve only to public addresses. The rule
is applied when a URL is registered or changed, and again on every connection a delivery
makes: the shared HTTP client resolves names through :class:`VettingResolver`, which resolves
with the app's resolver function, refuses the whole answer if any address is not public, and
hands the connector exactly the addresses it checked, so the TCP connection goes to a vetted
address while TLS and the ``Host`` header still use the name. A name that resolved to a public
address at registration and to a private one later (DNS rebinding) is therefore refused at
delivery. Hosts written as IP literals never reach a resolver; :meth:`Targets.addresses`
checks those before the request is made.

``webhooks.allow_private_targets`` lifts the address rule and also allows ``http://``, for
local development against a receiver on the same machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT = 5.0

Resolve = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_NUMERIC_LOOKING = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+))*\.?$", re.IGNORECASE)
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f]")


class TargetError(Exception):
    """A URL or address that deliveries may not use; ``reason`` is ``details.reason``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class TargetRefused(OSError):
    """Raised inside the HTTP client's resolver; aiohttp wraps it in a connector error."""

    def __init__(self, error: TargetError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    scheme: str
    host: str  # lowercase, IDNA-encoded, IPv6 without brackets
    port: int
    key: str  # the URL as compared for duplicates
    literal: bool  # the host is an IP address, so no resolver will see it


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the operating system resolves ``host`` to (empty when it does not)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
    except (OSError, UnicodeError, TimeoutError):
        return []
    found: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in found:
            found.append(address)
    return found


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, bool]:
    """The IPv4 address an IPv6 address carries, and whether the v6 form is only a wrapper
    (IPv4-mapped or IPv4-compatible) rather than a routed translation (6to4, NAT64, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, True
    if ip in _V4_COMPATIBLE and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), True
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), False
    if ip.sixtofour is not None:
        return ip.sixtofour, False
    if ip.teredo is not None:
        return ip.teredo[1], False
    return None, False


def is_public_address(ip: IPAddress) -> bool:
    """False for loopback, private, link-local, multicast, reserved, unspecified, shared
    (CGNAT ``100.64.0.0/10``) and site-local addresses, and for IPv6 forms that wrap or
    translate to one of them."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded, wrapper = _embedded_ipv4(ip)
        if embedded is not None:
            if not is_public_address(embedded):
                return False
            if wrapper:
                return True
        if ip.is_site_local:
            return False
    elif ip in _CGNAT:
        return False
    if (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    ):
        return False
    return ip.is_global


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def parse_target(url: object, *, allow_private: bool) -> Target:
    """The syntax rules: a string of at most 2000 characters, an absolute ``https`` URL (or
    ``http`` when private targets are allowed) with a host, no user name or password."""
    if not isinstance(url, str) or not url:
        raise TargetError("invalid", "The URL is empty; send an absolute https:// URL.")
    if len(url) > MAX_URL_LENGTH:
        raise TargetError(
            "too_long", f"The URL is {len(url)} characters long; at most {MAX_URL_LENGTH} are allowed."
        )
    if _BAD_CHARS.search(url):
        raise TargetError("invalid", "The URL contains spaces or control characters.")
    try:
        parsed = URL(url)
        port = parsed.port
    except (ValueError, TypeError):
        raise TargetError("invalid", "The URL could not be parsed; send an absolute https:// URL.") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in {"http", "https"} or not parsed.raw_host:
        if scheme and scheme not in {"http", "https"}:
            raise TargetError("not_https", f"Webhook URLs must use https://, not {scheme}://.")
        raise TargetError("invalid", "The URL must be absolute, such as https://example.com/hooks.")
    if scheme == "http" and not allow_private:
        raise TargetError("not_https", "Webhook URLs must use https://; plain http:// is refused.")
    if parsed.user is not None or parsed.password is not None:
        raise TargetError(
            "invalid",
            "The URL carries a user name or password; remove them and verify deliveries "
            "with the signature headers instead.",
        )
    host = parsed.raw_host.lower()
    if _ip_literal(host) is None and _NUMERIC_LOOKING.fullmatch(host):
        raise TargetError(
            "invalid", "The host looks like an IP address but is not one in the usual form."
        )
    if port is None or not 0 < port < 65536:
        raise TargetError("invalid", "The URL's port is not valid.")
    key = str(parsed.with_fragment(None))
    if parsed.raw_path == "/" and not parsed.raw_query_string and not key.endswith("/"):
        key += "/"  # https://host and https://host/ are the same target
    literal = _ip_literal(host) is not None
    return Target(url=url, scheme=scheme, host=host, port=port, key=key, literal=literal)


class Targets:
    """URL checks and address vetting with one resolver and one setting."""

    def __init__(self, resolve: Resolve, *, allow_private: bool) -> None:
        self.resolve = resolve
        self.allow_private = allow_private

    def parse(self, url: object) -> Target:
        return parse_target(url, allow_private=self.allow_private)

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses a delivery to ``host`` may connect to, all vetted; raises
        :class:`TargetError` (``unresolvable`` / ``private_address``) otherwise."""
        literal = _ip_literal(host)
        if literal is not None:
            found = [str(literal)]
        else:
            if not self.allow_private and (host == "localhost" or host.endswith(".localhost")):
                raise TargetError("private_address", f"{host} names this machine.")
            found = list(await self.resolve(host.rstrip(".") or host, port))
            if not found:
                raise TargetError("unresolvable", f"The host {host} does not resolve to any address.")
        if self.allow_private:
            return found
        for text in found:
            ip = _ip_literal(text)
            if ip is None or not is_public_address(ip):
                shown = host if literal is not None else f"{host} resolves to {text}, which"
                raise TargetError(
                    "private_address",
                    f"{shown} is not a public internet address; webhooks are only delivered "
                    "to public addresses.",
                )
        return found

    async def check(self, url: object) -> Target:
        """Registration check: syntax, then every resolved address."""
        target = self.parse(url)
        await self.addresses(target.host, target.port)
        return target


class VettingResolver(AbstractResolver):
    """The HTTP client's resolver: only vetted addresses ever reach the connector."""

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            found = await self.targets.addresses(host.lower(), port)
        except TargetError as exc:
            raise TargetRefused(exc) from None
        results: list[ResolveResult] = []
        for text in found:
            ip = ipaddress.ip_address(text)
            results.append(
                {
                    "hostname": host,
                    "host": str(ip),
                    "port": port,
                    "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        return results

    async def close(self) -> None:
        return None
