"""Where a request came from and whether it arrived over TLS, honoring trusted proxies."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProxyPolicy:
    def __init__(self, trusted: tuple[str, ...]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(item, strict=False) for item in trusted
        )
        self._is_trusted = lru_cache(maxsize=4096)(self._check)

    def _check(self, address: str) -> bool:
        if not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.networks)

    def trusted(self, address: str | None) -> bool:
        return address is not None and self._is_trusted(address)

    def client_ip(self, request: web.Request) -> str:
        remote = request.remote or "unknown"
        if not self.trusted(remote):
            return remote
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusted(hop):
                return hop
        return hops[0] if hops else remote

    def arrived_over_tls(self, request: web.Request) -> bool:
        if request.transport is not None and request.transport.get_extra_info("sslcontext"):
            return True
        if self.trusted(request.remote):
            proto = request.headers.get("X-Forwarded-Proto", "")
            return proto.split(",")[0].strip().lower() == "https"
        return False
