"""Fixed one-minute windows per (bucket, key), in memory.

Each bucket keeps its own table of counters. When the minute changes every table is dropped,
so idle keys never outlive their window. Within a minute a table holds at most ``max_keys``
keys: a new key beyond that evicts the key used least recently, so a flood from many
addresses costs bounded memory while a client that keeps hitting its limit stays tracked
(and refused). An evicted key simply starts counting again: the limiter fails open and never
locks anyone out for longer than the rest of the current minute. Nothing here touches the
database.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

WINDOW = 60
# keys tracked per bucket within one window; ~200 bytes each, so the largest table stays
# around 10 MB however many addresses take part in a flood
DEFAULT_MAX_KEYS = 50_000


@dataclass(frozen=True, slots=True)
class RateDecision:
    bucket: str
    limit: int
    remaining: int
    reset: int  # unix seconds of the window end
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimiter:
    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self.evicted = 0  # keys pushed out by the cap, for tests and diagnostics
        self._window = -1
        self._tables: dict[str, OrderedDict[str, int]] = {}

    def hit(self, bucket: str, key: str, limit: int, now: float) -> RateDecision:
        window = int(now) // WINDOW
        if window != self._window:
            self._window = window
            self._tables = {}
        table = self._tables.get(bucket)
        if table is None:
            table = self._tables[bucket] = OrderedDict()
        used = table.get(key)
        if used is None:
            if len(table) >= self.max_keys:
                table.popitem(last=False)  # the least recently used key
                self.evicted += 1
            used = 1
        else:
            used += 1
            table.move_to_end(key)
        table[key] = used
        reset = (window + 1) * WINDOW
        return RateDecision(bucket, limit, max(0, limit - used), reset, used <= limit)

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables.values())
