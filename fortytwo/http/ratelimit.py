"""Fixed one-minute windows per (bucket, key), in memory.

Memory is bounded by the keys seen in the current minute: when the minute changes the whole
table is dropped. Nothing here touches the database, and nothing ever locks anyone out for
longer than the rest of the current minute.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW = 60


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
    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[tuple[str, str], int] = {}

    def hit(self, bucket: str, key: str, limit: int, now: float) -> RateDecision:
        window = int(now) // WINDOW
        if window != self._window:
            self._window = window
            self._counts = {}
        slot = (bucket, key)
        used = self._counts.get(slot, 0) + 1
        self._counts[slot] = used
        reset = (window + 1) * WINDOW
        return RateDecision(bucket, limit, max(0, limit - used), reset, used <= limit)

    def __len__(self) -> int:
        return len(self._counts)
