"""The pure slot engine: which start times an event type offers, and why a start is refused.

Everything here is a function of its arguments. The caller passes the current time, the
event type's rules and the candidate hosts (with their schedules and existing bookings);
the engine never reads a clock, a database or any mutable global. See docs/slot-engine.md
for the rules in prose.

Outline of one computation, per host:

1. Working ranges: for each local date around the requested window, the wall-clock ranges
   of that date (override, else weekly hours; none on out-of-office dates), converted to
   UTC instants.
2. Blocked intervals: every existing booking blocks candidate cores over
   ``[start - max(its buffer_before, our buffer_after), end + max(its buffer_after, our
   buffer_before))``. These are sorted and merged once.
3. Free ranges: working ranges minus the merged blocked intervals.
4. Grid: from the start of every free range, step ``interval`` minutes of local wall-clock
   time; keep the starts whose slot fits the free range, then filter by window, notice,
   future limit and booking limits.

Round robin merges the hosts' grids; group event types add the starts of existing sessions
that still have seats.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from fortytwo.scheduling.model import EventRules, Host, Limits, Slot, SlotCheck, SlotList

__all__ = ["check_slot", "compute_slots"]

_TICK = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_MINUTES_PER_DAY = 1440
# next_available looks ahead in windows that start at this size and double up to the cap
_SEARCH_FIRST = timedelta(days=7)
_SEARCH_MAX = timedelta(days=56)

ROUND_ROBIN = "collective"
GROUP = "group"


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# --------------------------------------------------------------------------- wall clock


def _wall_of(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock time of an instant."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def _boundary_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A working-range boundary (naive local wall time) as a UTC instant.

    An ambiguous wall time means its first occurrence. A wall time inside a spring-forward
    gap means the instant the gap ends (the first existing wall time after it).
    """
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall_of(instant, zone) == wall:
        return instant
    # Inside a gap. With fold=1 the conversion uses the offset after the transition, which
    # lands before the transition instant; with fold=0 it lands at or after it. Bisect (in
    # whole seconds; zone transitions happen on whole seconds) for the first instant whose
    # wall time is past ``wall``: that is the transition, i.e. the end of the gap.
    lo = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    hi = instant
    if lo >= hi:  # not a regular gap; nothing better to offer than the fold=0 reading
        return instant
    lo_k, hi_k = 0, int((hi - lo) / _SECOND)
    if _wall_of(lo + hi_k * _SECOND, zone) <= wall:
        return hi
    while hi_k - lo_k > 1:
        mid = (lo_k + hi_k) // 2
        if _wall_of(lo + mid * _SECOND, zone) > wall:
            hi_k = mid
        else:
            lo_k = mid
    return lo + hi_k * _SECOND


def _grid(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    duration: timedelta,
    step: timedelta,
    lo: datetime,
    hi: datetime,
) -> Iterator[datetime]:
    """Starts stepped in wall-clock time from ``start`` whose slot fits in [start, end).

    Only starts in [lo, hi) are yielded. Each wall time is read with fold=0 (first
    occurrence); wall times that do not exist are skipped.
    """
    last = end - duration
    if last < start:
        return
    upper = min(last, hi - _TICK)
    if upper < lo:
        return
    local = start.astimezone(zone)
    if local.fold == 0 and local.utcoffset() == last.astimezone(zone).utcoffset():
        # Same offset at both ends and not inside a repeated hour: assuming no zone changes
        # its offset twice within one working range, wall-clock steps are absolute steps.
        k = 0 if lo <= start else -((start - lo) // step)
        last_k = (upper - start) // step
        while k <= last_k:
            yield start + k * step
            k += 1
        return
    wall0 = local.replace(tzinfo=None, fold=0)
    k = 0
    while True:
        wall = wall0 + k * step
        k += 1
        cand = wall.replace(tzinfo=zone).astimezone(UTC)
        if _wall_of(cand, zone) != wall:
            continue  # does not exist (spring-forward gap)
        if cand < start:
            continue  # first occurrence of a repeated hour, before the range began
        if cand > upper:
            return
        if cand >= lo:
            yield cand


# --------------------------------------------------------------------------- per host


class _Plan:
    """Everything about one host that does not depend on the requested window."""

    __slots__ = (
        "host",
        "order",
        "zone",
        "ooo",
        "m_starts",
        "m_ends",
        "raw",
        "raw_starts",
        "max_block",
        "sessions",
        "session_starts",
        "limited",
        "_counts",
        "_ranges",
        "_limit_days",
    )

    def __init__(self, host: Host, order: int, rules: EventRules, group: bool) -> None:
        self.host = host
        self.order = order
        self.zone = _zone(host.schedule.timezone)
        self.ooo = host.out_of_office
        self._ranges: dict[date, list[tuple[datetime, datetime]]] = {}
        self._limit_days: dict[date, bool] = {}

        # Rule 3 as one interval per booking: it blocks candidate cores over
        # [start - max(its before, our after), end + max(its after, our before)).
        # (blocked start, blocked end, busy) for every busy item that blocks anything.
        pad: dict[tuple[int, int], tuple[timedelta, timedelta]] = {}
        raw = []
        for b in host.busy:
            key = (b.buffer_before, b.buffer_after)
            lead_tail = pad.get(key)
            if lead_tail is None:
                lead_tail = pad[key] = (
                    timedelta(minutes=max(b.buffer_before, rules.buffer_after)),
                    timedelta(minutes=max(b.buffer_after, rules.buffer_before)),
                )
            bs = b.start - lead_tail[0]
            be = (b.end if b.end > b.start else b.start) + lead_tail[1]
            if bs < be:
                raw.append((bs, be, b))
        raw.sort(key=lambda r: r[0])
        self.raw = raw
        self.raw_starts = [r[0] for r in raw]
        self.max_block = max((r[1] - r[0] for r in raw), default=timedelta(0))
        m_starts: list[datetime] = []
        m_ends: list[datetime] = []
        for bs, be, _ in raw:
            if m_ends and bs <= m_ends[-1]:
                if be > m_ends[-1]:
                    m_ends[-1] = be
            else:
                m_starts.append(bs)
                m_ends.append(be)
        self.m_starts = m_starts
        self.m_ends = m_ends

        sessions: Counter[datetime] = Counter()
        if group:
            for b in host.busy:
                if b.event_type_id == rules.event_type_id:
                    sessions[b.start] += 1
        self.sessions = sessions
        self.session_starts = sorted(sessions)

        self.limited = _has_limit(rules.limits) or _has_limit(host.user_limits)
        self._counts: tuple[Counter, Counter] | None = None

    # ---- working hours

    def is_ooo(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.ooo)

    def day_ranges(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working ranges of one local date, as sorted UTC instants."""
        cached = self._ranges.get(day)
        if cached is not None:
            return cached
        out: list[tuple[datetime, datetime]] = []
        if not self.is_ooo(day):
            schedule = self.host.schedule
            spec = schedule.overrides.get(day)
            if spec is None:
                spec = schedule.weekly.get(day.weekday(), ())
            midnight = datetime.combine(day, time())
            for a, b in spec:
                if not 0 <= a < b <= _MINUTES_PER_DAY:
                    continue
                rs = _boundary_to_utc(midnight + timedelta(minutes=a), self.zone)
                re = _boundary_to_utc(midnight + timedelta(minutes=b), self.zone)
                if rs < re:
                    out.append((rs, re))
            out.sort()
        self._ranges[day] = out
        return out

    def fits_working(self, start: datetime, end: datetime) -> bool:
        day = start.astimezone(self.zone).date()
        for d in (day - _DAY, day, day + _DAY):
            for rs, re in self.day_ranges(d):
                if rs <= start and end <= re:
                    return True
        return False

    def free_ranges(self, rs: datetime, re: datetime) -> Iterator[tuple[datetime, datetime]]:
        """A working range minus the merged blocked intervals."""
        m_starts, m_ends = self.m_starts, self.m_ends
        i = bisect_right(m_ends, rs)
        cur = rs
        n = len(m_starts)
        while i < n and m_starts[i] < re:
            if m_starts[i] > cur:
                yield cur, m_starts[i]
            if m_ends[i] > cur:
                cur = m_ends[i]
            i += 1
        if cur < re:
            yield cur, re

    # ---- collisions

    def collisions(
        self, start: datetime, end: datetime, rules: EventRules, own_session: bool
    ) -> tuple[bool, bool]:
        """(core overlaps a booking's core, blocked per rule 3) for the core [start, end).

        With ``own_session`` the seats of the group session starting at ``start`` are
        ignored.
        """
        raw = self.raw
        i = bisect_right(self.raw_starts, start - self.max_block)
        j = bisect_left(self.raw_starts, end)
        booked = blocked = False
        for _bs, be, b in raw[i:j]:
            if be <= start:
                continue
            if own_session and b.start == start and b.event_type_id == rules.event_type_id:
                continue
            blocked = True
            if b.start < end and start < b.end:
                booked = True
                break
        return booked, blocked

    # ---- limits

    def limit_reached(self, day: date, rules: EventRules) -> bool:
        """Whether a meeting starting on local ``day`` would exceed a booking limit."""
        if not self.limited:
            return False
        hit = self._limit_days.get(day)
        if hit is not None:
            return hit
        if self._counts is None:
            self._counts = self._count(rules)
        event_counts, user_counts = self._counts
        hit = _over(rules.limits, event_counts, day) or _over(
            self.host.user_limits, user_counts, day
        )
        self._limit_days[day] = hit
        return hit

    def _count(self, rules: EventRules) -> tuple[Counter, Counter]:
        """Meetings per local day / week / month: of this event type, and of any type."""
        want_event = _has_limit(rules.limits)
        want_user = _has_limit(self.host.user_limits)
        event_keys: set[datetime] = set()
        user_keys: set[object] = set()
        event_counts: Counter = Counter()
        user_counts: Counter = Counter()
        for idx, b in enumerate(self.host.busy):
            new_user = False
            if want_user:
                # a group session (same type, same start) counts once; untyped items each
                user_key = idx if b.event_type_id is None else (b.event_type_id, b.start)
                new_user = user_key not in user_keys
                if new_user:
                    user_keys.add(user_key)
            new_event = (
                want_event and b.event_type_id == rules.event_type_id and b.start not in event_keys
            )
            if new_event:
                event_keys.add(b.start)
            if not (new_user or new_event):
                continue
            day = b.start.astimezone(self.zone).date()
            periods = (
                ("d", day),
                ("w", day - timedelta(days=day.weekday())),
                ("m", day.year, day.month),
            )
            for counts, new in ((user_counts, new_user), (event_counts, new_event)):
                if new:
                    for key in periods:
                        counts[key] = counts.get(key, 0) + 1
        return event_counts, user_counts


def _has_limit(limits: Limits) -> bool:
    return limits.per_day is not None or limits.per_week is not None or limits.per_month is not None


def _over(limits: Limits, counts: Counter, day: date) -> bool:
    if limits.per_day is not None and counts[("d", day)] >= limits.per_day:
        return True
    monday = day - timedelta(days=day.weekday())
    if limits.per_week is not None and counts[("w", monday)] >= limits.per_week:
        return True
    return limits.per_month is not None and counts[("m", day.year, day.month)] >= limits.per_month


# --------------------------------------------------------------------------- engine core


class _Run:
    """One evaluation context: rules, plans for the eligible hosts, and derived constants."""

    __slots__ = (
        "rules",
        "plans",
        "group",
        "seats",
        "duration",
        "step",
        "earliest",
        "latest",
    )

    def __init__(self, rules: EventRules, hosts: Sequence[Host], now: datetime) -> None:
        self.rules = rules
        self.group = rules.scheduling_type == GROUP
        self.seats = max(1, rules.seats_per_slot or 1)
        eligible = list(hosts) if rules.scheduling_type == ROUND_ROBIN else list(hosts[:1])
        self.plans = [_Plan(h, i, rules, self.group) for i, h in enumerate(eligible)]
        self.duration = timedelta(minutes=rules.duration)
        interval = rules.interval if rules.interval > 0 else rules.duration
        self.step = timedelta(minutes=interval)
        self.earliest = max(now, now + timedelta(minutes=rules.minimum_notice))
        self.latest = now + timedelta(days=rules.future_limit_days)  # inclusive

    @property
    def usable(self) -> bool:
        return self.rules.active and self.rules.duration > 0 and bool(self.plans)

    def host_starts(self, plan: _Plan, lo: datetime, hi: datetime) -> dict[datetime, int | None]:
        """Offered starts of one host in [lo, hi) (bounds already include notice/limit)."""
        out: dict[datetime, int | None] = {}
        zone, duration, step = plan.zone, self.duration, self.step
        seats = self.seats if self.group else None
        first_day = lo.astimezone(zone).date() - _DAY
        last_day = hi.astimezone(zone).date() + _DAY
        day = first_day
        while day <= last_day:
            for rs, re in plan.day_ranges(day):
                if re - duration < lo or rs >= hi:
                    continue
                for fs, fe in plan.free_ranges(rs, re):
                    if fe - duration < lo or fs >= hi:
                        continue
                    for s in _grid(fs, fe, zone, duration, step, lo, hi):
                        if plan.limited and plan.limit_reached(
                            s.astimezone(zone).date(), self.rules
                        ):
                            continue
                        out[s] = seats
            day += _DAY
        if self.group and plan.session_starts:
            ss = plan.session_starts
            for s in ss[bisect_left(ss, lo) : bisect_left(ss, hi)]:
                taken = plan.sessions[s]
                if taken >= self.seats:
                    continue
                end = s + duration
                if not plan.fits_working(s, end):
                    continue
                if plan.collisions(s, end, self.rules, own_session=True)[1]:
                    continue
                out[s] = self.seats - taken
        return out

    def collect(self, window_start: datetime, window_end: datetime) -> list[Slot]:
        """All offered slots with a start in [window_start, window_end), sorted."""
        if not self.usable:
            return []
        lo = max(window_start, self.earliest)
        hi = min(window_end, self.latest + _TICK)
        if lo >= hi:
            return []
        duration = self.duration
        if len(self.plans) == 1:
            plan = self.plans[0]
            uid = plan.host.user_id
            starts = self.host_starts(plan, lo, hi)
            return [Slot(s, s + duration, uid, starts[s]) for s in sorted(starts)]
        best: dict[datetime, tuple[int, int, _Plan, int | None]] = {}
        for plan in self.plans:
            key = (plan.host.recent_bookings, plan.order)
            for s, seats in self.host_starts(plan, lo, hi).items():
                cur = best.get(s)
                if cur is None or key < cur[:2]:
                    best[s] = (key[0], key[1], plan, seats)
        return [Slot(s, s + duration, best[s][2].host.user_id, best[s][3]) for s in sorted(best)]

    def detail(self, plan: _Plan, start: datetime) -> str:
        """The most specific reason this host cannot take ``start``."""
        day = start.astimezone(plan.zone).date()
        if plan.is_ooo(day):
            return "out_of_office"
        end = start + self.duration
        if self.rules.duration <= 0 or not plan.fits_working(start, end):
            return "outside_working_hours"
        taken = plan.sessions.get(start, 0) if self.group else 0
        if taken >= self.seats:
            return "seats_full"
        if not taken and plan.limit_reached(day, self.rules):
            return "limit_reached"
        booked, blocked = plan.collisions(start, end, self.rules, own_session=taken > 0)
        if booked:
            return "booked"
        if blocked:
            return "buffer"
        return "off_increment"

    def next_available(self, after: datetime) -> datetime | None:
        cur = after + _TICK
        size = _SEARCH_FIRST
        while cur <= self.latest:
            stop = min(cur + size, self.latest + _TICK)
            found = self.collect(cur, stop)
            if found:
                return found[0].start
            cur = stop
            size = min(size * 2, _SEARCH_MAX)
        return None


# --------------------------------------------------------------------------- public API


def compute_slots(
    rules: EventRules,
    hosts: Sequence[Host],
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    *,
    cap: int = 1000,
) -> SlotList:
    """Offered slots with a start in [window_start, window_end), sorted and unique by start.

    At most ``cap`` slots are returned; ``truncated`` tells whether more exist in the window.
    """
    if not rules.active or window_end <= window_start:
        return SlotList(slots=(), truncated=False)
    slots = _Run(rules, hosts, now).collect(window_start, window_end)
    limit = max(cap, 0)
    if len(slots) > limit:
        return SlotList(slots=tuple(slots[:limit]), truncated=True)
    return SlotList(slots=tuple(slots), truncated=False)


def check_slot(
    rules: EventRules, hosts: Sequence[Host], start: datetime, now: datetime
) -> SlotCheck:
    """Whether ``start`` is offered, agreeing exactly with :func:`compute_slots`.

    When it is not, ``reason`` (and for ``slot_busy`` a ``reason_detail`` and the
    ``next_available`` start) explain why.
    """
    if not rules.active:
        return SlotCheck(available=False, reason="event_type_inactive")
    if start < now:
        return SlotCheck(available=False, reason="in_past")
    if start < now + timedelta(minutes=rules.minimum_notice):
        return SlotCheck(available=False, reason="outside_minimum_notice")
    if start > now + timedelta(days=rules.future_limit_days):
        return SlotCheck(available=False, reason="outside_future_limit")
    run = _Run(rules, hosts, now)
    found = run.collect(start, start + _TICK)
    if found and found[0].start == start:
        slot = found[0]
        return SlotCheck(
            available=True, host_user_id=slot.host_user_id, seats_remaining=slot.seats_remaining
        )
    detail = run.detail(run.plans[0], start) if run.plans else "outside_working_hours"
    return SlotCheck(
        available=False,
        reason="slot_busy",
        reason_detail=detail,
        next_available=run.next_available(start) if run.usable else None,
    )
