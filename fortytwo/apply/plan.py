"""Parse and validate an ``apply`` file into a :class:`Plan`, without touching the database.

The file format is described in ``docs/apply-format.md``. :func:`parse_plan` either returns a
fully validated, immutable :class:`Plan` or raises :class:`PlanError` carrying every problem it
found, each with the line it points at and the field path (``event_types[2].duration_minutes``).

``tomllib`` does not report positions, so a small scanner (:class:`_Locator`) walks the text
once and remembers the line of every table header, key and array element it sees. A field path
that is not in the text (a missing required key, say) falls back to its closest ancestor.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fortytwo.scheduling.model import MAX_DURATION_MINUTES, MinuteRange, Schedule

__all__ = [
    "DAY_KEYS",
    "EventTypeSpec",
    "Issue",
    "LocationSpec",
    "OrgSpec",
    "OutOfOfficeSpec",
    "OverrideSpec",
    "Plan",
    "PlanError",
    "QuestionSpec",
    "ScheduleSpec",
    "TeamSpec",
    "UserLimitSpec",
    "UserSpec",
    "parse_plan",
]

# Weekday keys of ``[schedules.weekly]``, Monday first (index = ``date.weekday()``).
DAY_KEYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

ROLES = ("owner", "admin", "user")
SCHEDULING_TYPES = ("individual", "collective", "group")
QUESTION_TYPES = (
    "text",
    "textarea",
    "email",
    "phone",
    "number",
    "select",
    "multiselect",
    "checkbox",
)
DEFAULT_COLOR = "#7c3aed"

_USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_TEAM_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_EVENT_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,126}")
_QUESTION_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_QUESTION_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")
_LOCALE_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL_RE = re.compile(rf"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~.-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")
_RANGE_RE = re.compile(r"(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TOML_POS_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END_RE = re.compile(r"\s*\(at end of document\)\s*$")
_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_RE = re.compile(r"[^,\]}\n#]*")


# --------------------------------------------------------------------------------------------
# Public result types


@dataclass(frozen=True)
class Issue:
    """One problem in the file. ``line`` is 1-based, or None when no line applies."""

    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        parts = [f"line {self.line}"] if self.line is not None else []
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class PlanError(Exception):
    """The file is not a valid plan; ``issues`` lists every problem found, in line order."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues: list[Issue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


@dataclass(frozen=True)
class OrgSpec:
    name: str


@dataclass(frozen=True)
class UserSpec:
    username: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    timezone: str = "UTC"
    locale: str | None = None
    role: str = "user"


@dataclass(frozen=True)
class TeamSpec:
    slug: str
    name: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class OverrideSpec:
    date: date
    ranges: tuple[MinuteRange, ...]  # empty = unavailable all day


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    user: str
    timezone: str
    # as written in the file; None = not given (the DB layer picks the default)
    default: bool | None
    # seven entries, Monday first; each sorted and non-overlapping; empty = no hours
    weekly: tuple[tuple[MinuteRange, ...], ...]
    overrides: tuple[OverrideSpec, ...] = ()

    def to_engine(self) -> Schedule:
        """The slot engine's view of this schedule."""
        return Schedule(
            timezone=self.timezone,
            weekly={day: ranges for day, ranges in enumerate(self.weekly)},
            overrides={o.date: o.ranges for o in self.overrides},
        )


@dataclass(frozen=True)
class OutOfOfficeSpec:
    user: str
    start: date  # first local date, inclusive
    end: date  # last local date, inclusive
    reason: str | None = None


@dataclass(frozen=True)
class LocationSpec:
    type: str
    label: str
    value: str | None = None


@dataclass(frozen=True)
class QuestionSpec:
    id: str
    key: str
    label: str
    type: str
    required: bool = False
    options: tuple[str, ...] | None = None  # select / multiselect only


@dataclass(frozen=True)
class EventTypeSpec:
    slug: str
    title: str
    duration_minutes: int
    owner: str | None  # exactly one of owner / team is set
    team: str | None
    hosts: tuple[str, ...]  # resolved: explicit list, else [owner], else team members
    scheduling_type: str = "individual"
    description: str | None = None
    active: bool = True
    color: str = DEFAULT_COLOR
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    minimum_notice_minutes: int = 0  # minimum_notice_hours is converted to minutes
    future_limit_days: int = 60
    slot_interval_minutes: int = 0  # resolved: defaults to duration_minutes
    max_bookings_per_day: int | None = None
    max_bookings_per_week: int | None = None
    max_bookings_per_month: int | None = None
    seats_per_slot: int | None = None
    requires_confirmation: bool = False
    allow_reschedule: bool = True
    allow_cancel: bool = True
    schedule: str | None = None  # schedule name ...
    schedule_user: str | None = None  # ... and the user it belongs to (owner or a host)
    locations: tuple[LocationSpec, ...] = ()
    questions: tuple[QuestionSpec, ...] = ()


@dataclass(frozen=True)
class UserLimitSpec:
    user: str
    max_bookings_per_day: int | None = None
    max_bookings_per_week: int | None = None
    max_bookings_per_month: int | None = None


@dataclass(frozen=True)
class Plan:
    organization: OrgSpec
    users: tuple[UserSpec, ...] = ()
    teams: tuple[TeamSpec, ...] = ()
    schedules: tuple[ScheduleSpec, ...] = ()
    out_of_office: tuple[OutOfOfficeSpec, ...] = ()
    event_types: tuple[EventTypeSpec, ...] = ()
    user_limits: tuple[UserLimitSpec, ...] = ()


def parse_plan(text: str) -> Plan:
    """Parse and validate an apply file; raise :class:`PlanError` listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError([_syntax_issue(str(exc), text)]) from None
    return _Validator(data, _Locator(text)).run()


# --------------------------------------------------------------------------------------------
# Field paths and line lookup

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """``("event_types", 2, "hosts", 0)`` -> ``event_types[2].hosts[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _syntax_issue(message: str, text: str) -> Issue:
    match = _TOML_POS_RE.search(message)
    if match:
        detail = message[: match.start()]
        line: int | None = int(match.group(1))
        where = f" (column {match.group(2)})"
    elif _TOML_END_RE.search(message):
        detail = _TOML_END_RE.sub("", message)
        line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        where = " (at end of file)"
    else:
        detail, line, where = message, None, ""
    return Issue(line, "", f"TOML syntax error{where}: {detail}; fix the syntax and try again")


class _Locator:
    """Remembers the line of each header, key and array element in a TOML text.

    Only run on text that ``tomllib`` accepted, so it can be lenient; if it does get confused it
    stops and lookups fall back to whatever was recorded so far.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[Path, int] = {}
        self._s = text
        self._i = 0
        self._line = 1
        self._aot: dict[Path, int] = {}
        try:
            self._document()
        except (IndexError, ValueError, tomllib.TOMLDecodeError):
            pass

    def line_for(self, path: Path) -> int | None:
        """Line of ``path``, or of its nearest recorded ancestor."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    # -- scanning helpers

    def _peek(self, n: int = 1) -> str:
        return self._s[self._i : self._i + n]

    def _advance(self, to: int) -> None:
        self._line += self._s.count("\n", self._i, to)
        self._i = to

    def _skip_blank(self, newlines: bool) -> None:
        s = self._s
        while self._i < len(s):
            c = s[self._i]
            if c in " \t\r" or (newlines and c == "\n"):
                self._advance(self._i + 1)
            elif c == "#":
                end = s.find("\n", self._i)
                self._advance(len(s) if end < 0 else end)
            else:
                return

    def _record(self, path: Path, line: int) -> None:
        self.lines.setdefault(path, line)

    def _record_prefixes(self, path: Path, line: int) -> None:
        """Record ``path`` and any ancestors not seen yet (tables created implicitly)."""
        for n in range(1, len(path) + 1):
            self.lines.setdefault(path[:n], line)

    def _key(self) -> list[str]:
        keys: list[str] = []
        while True:
            self._skip_blank(newlines=False)
            c = self._peek()
            if c == '"':
                end = self._string_end(self._i)
                raw = self._s[self._i : end]
                keys.append(tomllib.loads(f"k = {raw}")["k"])
                self._advance(end)
            elif c == "'":
                end = self._s.index("'", self._i + 1) + 1
                keys.append(self._s[self._i + 1 : end - 1])
                self._advance(end)
            else:
                m = _BARE_KEY_RE.match(self._s, self._i)
                if not m:
                    raise ValueError("key expected")
                keys.append(m.group())
                self._advance(m.end())
            self._skip_blank(newlines=False)
            if self._peek() != ".":
                return keys
            self._advance(self._i + 1)

    def _string_end(self, i: int) -> int:
        """Index just past the string starting at ``i``."""
        s = self._s
        for quote in ('"""', "'''"):
            if s.startswith(quote, i):
                j = i + 3
                while True:
                    if quote == '"""' and s[j] == "\\":
                        j += 2
                    elif s.startswith(quote, j):
                        j += 3
                        extra = 0
                        while extra < 2 and j < len(s) and s[j] == quote[0]:
                            j += 1
                            extra += 1
                        return j
                    else:
                        j += 1
        if s[i] == "'":
            return s.index("'", i + 1) + 1
        j = i + 1
        while s[j] != '"':
            j += 2 if s[j] == "\\" else 1
        return j + 1

    def _resolve(self, keys: Sequence[str]) -> Path:
        """Header keys -> path, stepping into the last element of arrays of tables."""
        out: Path = ()
        for key in keys:
            out += (key,)
            if out in self._aot:
                out += (self._aot[out] - 1,)
        return out

    # -- grammar

    def _document(self) -> None:
        table: Path = ()
        s = self._s
        while True:
            self._skip_blank(newlines=True)
            if self._i >= len(s):
                return
            line = self._line
            if self._peek(2) == "[[":
                self._advance(self._i + 2)
                keys = self._key()
                self._advance(s.index("]]", self._i) + 2)
                base = self._resolve(keys[:-1]) + (keys[-1],)
                index = self._aot.get(base, 0)
                self._aot[base] = index + 1
                table = base + (index,)
                self._record_prefixes(table, line)
            elif self._peek() == "[":
                self._advance(self._i + 1)
                keys = self._key()
                self._advance(s.index("]", self._i) + 1)
                table = self._resolve(keys)
                self._record_prefixes(table, line)
            else:
                self._key_value(table)

    def _key_value(self, table: Path) -> None:
        line = self._line
        keys = self._key()
        self._record_prefixes(table + tuple(keys), line)
        self._skip_blank(newlines=False)
        if self._peek() != "=":
            raise ValueError("'=' expected")
        self._advance(self._i + 1)
        self._skip_blank(newlines=False)
        self._value(table + tuple(keys))

    def _value(self, path: Path) -> None:
        s = self._s
        c = self._peek()
        if not c:
            raise ValueError("value expected")
        if c in "\"'":
            self._advance(self._string_end(self._i))
        elif c == "[":
            self._advance(self._i + 1)
            index = 0
            while True:
                self._skip_blank(newlines=True)
                if self._peek() == "]":
                    self._advance(self._i + 1)
                    return
                self._record(path + (index,), self._line)
                self._value(path + (index,))
                index += 1
                self._skip_blank(newlines=True)
                if self._peek() == ",":
                    self._advance(self._i + 1)
        elif c == "{":
            self._advance(self._i + 1)
            while True:
                self._skip_blank(newlines=True)
                if self._peek() == "}":
                    self._advance(self._i + 1)
                    return
                self._key_value(path)
                self._skip_blank(newlines=True)
                if self._peek() == ",":
                    self._advance(self._i + 1)
        else:
            m = _SCALAR_RE.match(s, self._i)
            end = m.end() if m else self._i
            if end == self._i:
                raise ValueError("value expected")
            self._advance(end)


# --------------------------------------------------------------------------------------------
# Validation

_MISSING: Any = object()


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time"
    return type(value).__name__


def _show(value: object) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return _kind(value)
    return str(value)


def _got(value: object) -> str:
    """What was found, for "expected X, got ..." messages."""
    if isinstance(value, (list, dict)):
        return _kind(value)
    return f"{_kind(value)} {_show(value)}"


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _valid_timezone(name: str) -> bool:
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _fmt_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class _Entry:
    """One TOML table being validated: typed getters that record issues and return None."""

    def __init__(
        self, v: _Validator, data: dict[str, Any], path: Path, allowed: Sequence[str]
    ) -> None:
        self.v = v
        self.data = data
        self.path = path
        self._start = len(v.issues)
        for key in data:
            if key not in allowed:
                self.error(key, f"unknown key '{key}'; allowed: {', '.join(allowed)}")

    @property
    def ok(self) -> bool:
        """True while no issue was recorded since this entry started."""
        return len(self.v.issues) == self._start

    def error(self, key: str | Path, message: str) -> None:
        sub = (key,) if isinstance(key, str) else key
        self.v.add(self.path + sub, message)

    def _get(self, key: str, required: bool, example: str) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING and required:
            self.error(key, f"missing required key '{key}'; add e.g. {key} = {example}")
        return value

    def string(
        self,
        key: str,
        *,
        required: bool = False,
        example: str = '"..."',
        max_len: int | None = None,
        allow_empty: bool = False,
        pattern: re.Pattern[str] | None = None,
        rule: str = "",
        choices: Sequence[str] | None = None,
        default: str | None = None,
    ) -> str | None:
        value = self._get(key, required, example)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            self.error(key, f"expected a string, got {_got(value)}")
            return None
        if choices is not None:
            if value not in choices:
                self.error(key, f"{_show(value)} is not allowed; use one of {_quoted(choices)}")
                return None
            return value
        if not allow_empty and not value.strip():
            fix = "fill it in" if required else "fill it in or remove the key"
            self.error(key, f"must not be empty; {fix}")
            return None
        if max_len is not None and len(value) > max_len:
            self.error(key, f"is {len(value)} characters long; shorten it to at most {max_len}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            hint = ""
            if value.lower() != value and pattern.fullmatch(value.lower()):
                hint = f" (try {_show(value.lower())})"
            self.error(key, f"{_show(value)} is not valid: {rule}{hint}")
            return None
        return value

    def integer(
        self,
        key: str,
        low: int,
        high: int | None = None,
        *,
        required: bool = False,
        example: str = "1",
        default: int | None = None,
    ) -> int | None:
        value = self._get(key, required, example)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            extra = "; write it without quotes" if isinstance(value, str) else ""
            self.error(key, f"expected an integer, got {_got(value)}{extra}")
            return None
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            self.error(key, f"must be an integer {bounds}, got {value}")
            return None
        return value

    def boolean(self, key: str, default: bool | None) -> bool | None:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            extra = " (without quotes)" if isinstance(value, str) else ""
            self.error(
                key,
                f"expected a boolean, got {_got(value)}; write true or false{extra}",
            )
            return None
        return value

    def local_date(self, key: str, *, required: bool = False) -> date | None:
        value = self._get(key, required, "2026-12-24")
        if value is _MISSING:
            return None
        return self.v.local_date(value, self.path + (key,))

    def timezone(
        self, key: str, *, required: bool = False, default: str | None = None
    ) -> str | None:
        value = self.string(key, required=required, example='"Europe/London"', default=default)
        if value is None or key not in self.data:
            return value
        if not _valid_timezone(value):
            self.error(
                key,
                f"unknown time zone {_show(value)}; use an IANA name such as "
                '"Europe/London", "America/New_York" or "UTC"',
            )
            return None
        return value

    def string_list(
        self, key: str, *, what: str, if_empty: str | None = None
    ) -> tuple[str, ...] | None:
        """An array of strings; bad items and duplicates are reported and left out.

        Returns None when the key is missing (no issue) or is not a usable array (issue).
        """
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.error(
                key,
                f'expected an array of {what}, got {_got(value)}; write e.g. {key} = ["a", "b"]',
            )
            return None
        if not value and if_empty is not None:
            self.error(key, f"must not be empty; {if_empty}")
            return None
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.error((key, i), f"expected a non-empty string, got {_got(item)}")
            elif item in out:
                self.error((key, i), f"{_show(item)} is listed twice; remove the duplicate")
            else:
                out.append(item)
        return tuple(out)

    def table_list(self, key: str, *, example: str) -> list[tuple[Path, dict[str, Any]]]:
        """Elements of an array of tables (or an array of inline tables) with their paths."""
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return []
        return self.v.tables(value, self.path + (key,), example)


class _Validator:
    def __init__(self, data: dict[str, Any], locator: _Locator) -> None:
        self.data = data
        self.locator = locator
        self.issues: list[Issue] = []
        # names defined in the file (even by entries with other problems), for references
        self.usernames: set[str] = set()
        self.team_members: dict[str, tuple[str, ...] | None] = {}
        self.schedule_owners: dict[str, list[str]] = {}

    def add(self, path: Path, message: str) -> None:
        self.issues.append(Issue(self.locator.line_for(path), format_path(path), message))

    # -- generic pieces

    def tables(self, value: Any, path: Path, example: str) -> list[tuple[Path, dict[str, Any]]]:
        if isinstance(value, dict):
            self.add(path, f"expected an array of tables; write each entry as {example}")
            return []
        if not isinstance(value, list):
            self.add(
                path,
                f"expected an array of tables, got {_kind(value)}; write each entry as {example}",
            )
            return []
        out: list[tuple[Path, dict[str, Any]]] = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                out.append((path + (i,), item))
            else:
                self.add(path + (i,), f"expected a table, got {_got(item)}")
        return out

    def local_date(self, value: Any, path: Path) -> date | None:
        if isinstance(value, datetime):
            self.add(
                path,
                f"expected a date like 2026-12-24, got a date-time {value}; drop the time part",
            )
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                self.add(path, f"{_show(value)} is not a real calendar date; fix the month or day")
                return None
        self.add(path, f"expected a date like 2026-12-24 (YYYY-MM-DD), got {_got(value)}")
        return None

    def minute_range(self, value: Any, path: Path) -> MinuteRange | None:
        example = 'a string like "09:00-17:00"'
        if not isinstance(value, str):
            self.add(path, f"expected {example}, got {_got(value)}")
            return None
        m = _RANGE_RE.fullmatch(value.strip())
        if not m:
            self.add(
                path,
                f"{_show(value)} is not a time range; write {example} (HH:MM-HH:MM, 24-hour clock)",
            )
            return None
        sh, sm, eh, em = (int(g) for g in m.groups())
        problems = []
        if sh > 23:
            problems.append("the start hour must be 00-23")
        if eh > 24 or (eh == 24 and em != 0):
            problems.append("the end hour must be 00-23, or the end exactly 24:00")
        if sm > 59 or em > 59:
            problems.append("minutes must be 00-59")
        if problems:
            self.add(path, f"{_show(value)} is not valid: {'; '.join(problems)}")
            return None
        start, end = sh * 60 + sm, eh * 60 + em
        if start >= end:
            self.add(
                path,
                f"{_show(value)} must start before it ends; a range cannot cross "
                'midnight, so end the day at "24:00" and continue the next day at "00:00"',
            )
            return None
        return (start, end)

    def day_ranges(self, value: Any, path: Path) -> tuple[MinuteRange, ...] | None:
        """A list of range strings -> sorted, non-overlapping minute ranges."""
        if not isinstance(value, list):
            self.add(
                path,
                f"expected an array of time ranges, got {_got(value)}; "
                'write e.g. ["09:00-12:00", "13:00-17:00"]',
            )
            return None
        parsed: list[tuple[MinuteRange, int]] = []
        good = True
        for i, item in enumerate(value):
            r = self.minute_range(item, path + (i,))
            if r is None:
                good = False
            else:
                parsed.append((r, i))
        if not good:
            return None
        parsed.sort()
        latest: tuple[MinuteRange, int] | None = None
        for r, i in parsed:
            if latest is not None and r[0] < latest[0][1]:
                a, b = latest[0], r
                self.add(
                    path + (i,),
                    f"{_fmt_minutes(b[0])}-{_fmt_minutes(b[1])} overlaps "
                    f"{_fmt_minutes(a[0])}-{_fmt_minutes(a[1])}; merge them or adjust "
                    "the times (ranges may touch, e.g. 12:00-13:00 and 13:00-14:00)",
                )
                good = False
            if latest is None or r[1] > latest[0][1]:
                latest = (r, i)
        return tuple(r for r, _ in parsed) if good else None

    def check_user(self, entry: _Entry, key: str | Path, username: str, role: str) -> bool:
        if username in self.usernames:
            return True
        entry.error(
            key,
            f"no user {_show(username)} in this file; {role} must be the "
            "username of a [[users]] entry",
        )
        return False

    # -- sections

    def run(self) -> Plan:
        root = _Entry(self, self.data, (), _TOP_KEYS)
        org = self.organization()
        users = self.users(root)
        teams = self.teams(root)
        schedules = self.schedules(root)
        ooo = self.out_of_office(root)
        event_types = self.event_types(root)
        limits = self.user_limits(root)
        if self.issues or org is None:
            self.issues.sort(key=lambda i: (i.line is None, i.line or 0))  # stable
            raise PlanError(self.issues)
        return Plan(org, users, teams, schedules, ooo, event_types, limits)

    def organization(self) -> OrgSpec | None:
        value = self.data.get("organization", _MISSING)
        if value is _MISSING:
            self.add(
                ("organization",),
                'missing [organization] table; add [organization] with name = "Your company"',
            )
            return None
        if not isinstance(value, dict):
            self.add(
                ("organization",),
                f"expected a table, got {_kind(value)}; write it as "
                '[organization] with name = "..."',
            )
            return None
        e = _Entry(self, value, ("organization",), ("name",))
        name = e.string("name", required=True, example='"Acme"', max_len=200)
        return OrgSpec(name) if e.ok and name is not None else None

    def users(self, root: _Entry) -> tuple[UserSpec, ...]:
        out: list[UserSpec] = []
        seen_names: dict[str, Path] = {}
        seen_emails: dict[str, Path] = {}
        for path, data in root.table_list("users", example="[[users]]"):
            e = _Entry(self, data, path, _USER_KEYS)
            raw = data.get("username")
            if isinstance(raw, str):
                self.usernames.add(raw)
            username = e.string(
                "username",
                required=True,
                example='"ada"',
                pattern=_USERNAME_RE,
                rule="use 1-63 lowercase letters, digits, '.', '_' or '-', "
                "starting with a letter or digit",
            )
            if isinstance(raw, str):
                first = seen_names.setdefault(raw.lower(), path)
                if first != path:
                    e.error(
                        "username",
                        f"{_show(raw)} is already used by "
                        f"{format_path(first)} (usernames ignore case); choose another",
                    )
            email = e.string("email", required=True, example='"ada@example.com"')
            if email is not None:
                if len(email) > 254 or not email.isascii() or not _EMAIL_RE.fullmatch(email):
                    e.error(
                        "email",
                        f"{_show(email)} does not look like an email address; "
                        "use an ASCII address like name@example.com",
                    )
                else:
                    first = seen_emails.setdefault(email.lower(), path)
                    if first != path:
                        e.error(
                            "email",
                            f"{_show(email)} is already used by "
                            f"{format_path(first)}; each user needs their own email",
                        )
            first_name = e.string("first_name", max_len=127, allow_empty=True)
            last_name = e.string("last_name", max_len=127, allow_empty=True)
            tz = e.timezone("timezone", default="UTC")
            locale = e.string(
                "locale", pattern=_LOCALE_RE, rule='use a language tag such as "en" or "pt-BR"'
            )
            role = e.string("role", choices=ROLES, default="user")
            if e.ok:
                assert username and email and tz and role
                out.append(UserSpec(username, email, first_name, last_name, tz, locale, role))
        return tuple(out)

    def teams(self, root: _Entry) -> tuple[TeamSpec, ...]:
        out: list[TeamSpec] = []
        seen: dict[str, Path] = {}
        for path, data in root.table_list("teams", example="[[teams]]"):
            e = _Entry(self, data, path, _TEAM_KEYS)
            slug = e.string(
                "slug",
                required=True,
                example='"sales"',
                pattern=_TEAM_SLUG_RE,
                rule="use 1-63 lowercase letters, digits or '-', starting with a letter or digit",
            )
            name = e.string("name", required=True, example='"Sales"', max_len=255)
            members = e.string_list("members", what="usernames")
            for member in members or ():
                i = data["members"].index(member)
                self.check_user(e, ("members", i), member, "each member")
            raw = data.get("slug")
            if isinstance(raw, str):
                first = seen.setdefault(raw, path)
                if first != path:
                    e.error(
                        "slug",
                        f"{_show(raw)} is already used by {format_path(first)}; "
                        "team slugs must be unique",
                    )
                else:
                    # None = the members list is invalid (already reported)
                    invalid = members is None and "members" in data
                    self.team_members[raw] = None if invalid else (members or ())
            if e.ok:
                assert slug and name
                out.append(TeamSpec(slug, name, members or ()))
        return tuple(out)

    def schedules(self, root: _Entry) -> tuple[ScheduleSpec, ...]:
        out: list[ScheduleSpec] = []
        seen: dict[tuple[str, str], Path] = {}
        defaults: dict[str, Path] = {}
        for path, data in root.table_list("schedules", example="[[schedules]]"):
            e = _Entry(self, data, path, _SCHEDULE_KEYS)
            name = e.string("name", required=True, example='"Working hours"', max_len=255)
            user = e.string("user", required=True, example='"ada"')
            if user is not None:
                self.check_user(e, "user", user, "user")
            tz = e.timezone("timezone", required=True)
            default = e.boolean("default", None)
            weekly = self.weekly(e)
            overrides = self.overrides(e)
            if name is not None and user is not None:
                self.schedule_owners.setdefault(name, []).append(user)
                first = seen.setdefault((user, name), path)
                if first != path:
                    e.error(
                        "name",
                        f"user {_show(user)} already has a schedule named "
                        f"{_show(name)} ({format_path(first)}); rename one of them",
                    )
                if default:
                    first = defaults.setdefault(user, path)
                    if first != path:
                        e.error(
                            "default",
                            f"user {_show(user)} already has a default "
                            f"schedule ({format_path(first)}); keep default = true on "
                            "only one",
                        )
            if e.ok:
                assert name and user and tz and weekly is not None and overrides is not None
                out.append(ScheduleSpec(name, user, tz, default, weekly, overrides))
        return tuple(out)

    def weekly(self, e: _Entry) -> tuple[tuple[MinuteRange, ...], ...] | None:
        value = e.data.get("weekly", _MISSING)
        if value is _MISSING:
            return ((),) * 7
        if not isinstance(value, dict):
            e.error(
                "weekly",
                f"expected a table, got {_kind(value)}; write [schedules.weekly] "
                'with lines like mon = ["09:00-17:00"]',
            )
            return None
        w = _Entry(self, value, e.path + ("weekly",), DAY_KEYS)
        days = []
        for day in DAY_KEYS:
            ranges = self.day_ranges(value[day], w.path + (day,)) if day in value else ()
            days.append(ranges or ())
        return tuple(days) if w.ok else None

    def overrides(self, e: _Entry) -> tuple[OverrideSpec, ...] | None:
        out: list[OverrideSpec] = []
        seen: dict[date, Path] = {}
        start = len(self.issues)
        for path, data in e.table_list("overrides", example="[[schedules.overrides]]"):
            o = _Entry(self, data, path, ("date", "ranges"))
            day = o.local_date("date", required=True)
            ranges: tuple[MinuteRange, ...] | None = None
            if "ranges" not in data:
                o.error(
                    "ranges",
                    "missing required key 'ranges'; add ranges = [] to be "
                    'unavailable that date, or list hours like ["10:00-14:00"]',
                )
            else:
                ranges = self.day_ranges(data["ranges"], path + ("ranges",))
            if day is not None:
                first = seen.setdefault(day, path)
                if first != path:
                    o.error(
                        "date",
                        f"{day} already has an override ({format_path(first)}); "
                        "combine them into one entry",
                    )
            if o.ok:
                assert day is not None and ranges is not None
                out.append(OverrideSpec(day, ranges))
        return tuple(out) if len(self.issues) == start else None

    def out_of_office(self, root: _Entry) -> tuple[OutOfOfficeSpec, ...]:
        out: list[OutOfOfficeSpec] = []
        for path, data in root.table_list("out_of_office", example="[[out_of_office]]"):
            e = _Entry(self, data, path, ("user", "start", "end", "reason"))
            user = e.string("user", required=True, example='"ada"')
            if user is not None:
                self.check_user(e, "user", user, "user")
            start = e.local_date("start", required=True)
            end = e.local_date("end", required=True)
            if start is not None and end is not None and end < start:
                e.error(
                    "end",
                    f"{end} is before start {start}; end is the last day away "
                    "(inclusive) and must be on or after start",
                )
            reason = e.string("reason", max_len=500, allow_empty=True)
            if e.ok:
                assert user and start and end
                out.append(OutOfOfficeSpec(user, start, end, reason))
        return tuple(out)

    def user_limits(self, root: _Entry) -> tuple[UserLimitSpec, ...]:
        out: list[UserLimitSpec] = []
        seen: dict[str, Path] = {}
        for path, data in root.table_list("user_limits", example="[[user_limits]]"):
            e = _Entry(self, data, path, ("user",) + _LIMIT_KEYS)
            user = e.string("user", required=True, example='"ada"')
            if user is not None:
                self.check_user(e, "user", user, "user")
                first = seen.setdefault(user, path)
                if first != path:
                    e.error(
                        "user",
                        f"{_show(user)} already has limits in "
                        f"{format_path(first)}; merge the two entries",
                    )
            per_day, per_week, per_month = (e.integer(k, 1) for k in _LIMIT_KEYS)
            if e.ok:
                assert user
                out.append(UserLimitSpec(user, per_day, per_week, per_month))
        return tuple(out)

    def event_types(self, root: _Entry) -> tuple[EventTypeSpec, ...]:
        out: list[EventTypeSpec] = []
        seen: dict[tuple[str, str], Path] = {}
        for path, data in root.table_list("event_types", example="[[event_types]]"):
            spec = self.event_type(path, data, seen)
            if spec is not None:
                out.append(spec)
        return tuple(out)

    def event_type(
        self, path: Path, data: dict[str, Any], seen: dict[tuple[str, str], Path]
    ) -> EventTypeSpec | None:
        e = _Entry(self, data, path, _EVENT_TYPE_KEYS)
        slug = e.string(
            "slug",
            required=True,
            example='"intro-call"',
            pattern=_EVENT_SLUG_RE,
            rule="use 1-127 lowercase letters, digits or '-', starting with a letter or digit",
        )
        title = e.string("title", required=True, example='"Intro call"', max_len=255)
        description = e.string("description", allow_empty=True)
        duration = e.integer("duration_minutes", 1, MAX_DURATION_MINUTES, required=True, example="30")
        stype = e.string("scheduling_type", choices=SCHEDULING_TYPES, default="individual")

        # owner / team / hosts
        owner = e.string("owner", example='"ada"')
        team = e.string("team", example='"sales"')
        if "owner" in data and "team" in data:
            e.error("team", "set either owner (a username) or team (a team slug), not both")
        elif "owner" not in data and "team" not in data:
            e.error("owner", 'missing owner; add owner = "<username>" or team = "<team slug>"')
        if owner is not None:
            self.check_user(e, "owner", owner, "owner")
        members: tuple[str, ...] | None = None
        if team is not None:
            if team not in self.team_members:
                e.error(
                    "team",
                    f"no team {_show(team)} in this file; team must be the slug "
                    "of a [[teams]] entry",
                )
            else:
                members = self.team_members[team]
        hosts = e.string_list(
            "hosts",
            what="usernames",
            if_empty="list at least one username, or remove the key to use the default hosts",
        )
        if hosts is not None:
            for host in hosts:
                i = data["hosts"].index(host)
                if self.check_user(e, ("hosts", i), host, "each host") and (
                    members is not None and host not in members
                ):
                    e.error(
                        ("hosts", i),
                        f"{_show(host)} is not a member of team "
                        f"{_show(team)}; add them to the team's members or remove them",
                    )
        resolved_hosts = hosts
        if hosts is None and "hosts" not in data:
            resolved_hosts = (owner,) if owner is not None else members
            if resolved_hosts == ():
                e.error(
                    "team",
                    f"team {_show(team)} has no members, so this event type would have no "
                    "hosts; add members to the team or list hosts",
                )
        if stype == "collective" and "team" not in data and "hosts" not in data:
            e.error(
                "scheduling_type",
                "collective (round robin) needs several hosts; set team or list hosts",
            )

        # seats
        seats = e.integer("seats_per_slot", 2, 9999, example="10")
        if stype == "group" and "seats_per_slot" not in data:
            e.error(
                "seats_per_slot",
                "missing seats_per_slot; group event types need it, e.g. seats_per_slot = 10",
            )
        elif stype != "group" and "seats_per_slot" in data:
            e.error(
                "seats_per_slot",
                'only group event types have seats; remove it or set scheduling_type = "group"',
            )

        # timing
        before = e.integer("buffer_before_minutes", 0, 720, default=0)
        after = e.integer("buffer_after_minutes", 0, 720, default=0)
        notice = e.integer("minimum_notice_minutes", 0, 525600, default=0)
        notice_hours = e.integer("minimum_notice_hours", 0, 8760)
        if "minimum_notice_minutes" in data and "minimum_notice_hours" in data:
            e.error(
                "minimum_notice_hours",
                "set minimum_notice_minutes or minimum_notice_hours, not both",
            )
        elif notice_hours is not None:
            notice = notice_hours * 60
        future = e.integer("future_limit_days", 1, 3650, default=60)
        interval = e.integer("slot_interval_minutes", 1, 720, default=duration)
        per_day, per_week, per_month = (e.integer(k, 1) for k in _LIMIT_KEYS)

        active = e.boolean("active", True)
        color = e.string(
            "color",
            pattern=_COLOR_RE,
            rule='use "#" and six hex digits, e.g. "#7c3aed"',
            default=DEFAULT_COLOR,
        )
        confirm = e.boolean("requires_confirmation", False)
        reschedule = e.boolean("allow_reschedule", True)
        cancel = e.boolean("allow_cancel", True)

        schedule = e.string("schedule", example='"Working hours"', max_len=255)
        schedule_user = None
        if schedule is not None:
            schedule_user = self.schedule_for(e, schedule, owner, resolved_hosts)

        locations = self.locations(e)
        questions = self.questions(e)

        if slug is not None and (owner is not None) != (team is not None):
            key = ("user", owner) if owner is not None else ("team", team)
            assert key[1] is not None
            first = seen.setdefault((key[0] + ":" + key[1], slug), path)
            if first != path:
                whose = f"owner {_show(owner)}" if owner else f"team {_show(team)}"
                e.error(
                    "slug",
                    f"{whose} already has an event type {_show(slug)} "
                    f"({format_path(first)}); pick a different slug",
                )

        if not e.ok or resolved_hosts is None:
            return None  # (hosts unresolved = the team's members list is invalid, reported)
        assert slug and title and duration and stype and resolved_hosts is not None
        assert before is not None and after is not None and notice is not None
        assert future and interval and active is not None and color
        assert confirm is not None and reschedule is not None and cancel is not None
        assert locations is not None and questions is not None
        return EventTypeSpec(
            slug=slug,
            title=title,
            duration_minutes=duration,
            owner=owner,
            team=team,
            hosts=resolved_hosts,
            scheduling_type=stype,
            description=description,
            active=active,
            color=color,
            buffer_before_minutes=before,
            buffer_after_minutes=after,
            minimum_notice_minutes=notice,
            future_limit_days=future,
            slot_interval_minutes=interval,
            max_bookings_per_day=per_day,
            max_bookings_per_week=per_week,
            max_bookings_per_month=per_month,
            seats_per_slot=seats,
            requires_confirmation=confirm,
            allow_reschedule=reschedule,
            allow_cancel=cancel,
            schedule=schedule,
            schedule_user=schedule_user,
            locations=locations,
            questions=questions,
        )

    def schedule_for(
        self, e: _Entry, name: str, owner: str | None, hosts: tuple[str, ...] | None
    ) -> str | None:
        """The user whose schedule ``name`` the event type uses (owner first, then hosts)."""
        users = self.schedule_owners.get(name)
        if not users:
            e.error(
                "schedule",
                f"no schedule named {_show(name)} in this file; use the name "
                "of a [[schedules]] entry or remove the key to use the hosts' defaults",
            )
            return None
        if owner is not None and owner in users:
            return owner
        candidates = [h for h in hosts or () if h in users]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            e.error(
                "schedule",
                f"ambiguous: hosts {_quoted(candidates)} each have a schedule "
                f"named {_show(name)}; rename one of them",
            )
            return None
        whose = "the owner or one of the hosts" if owner is not None else "one of the hosts"
        e.error(
            "schedule",
            f"schedule {_show(name)} belongs to {_quoted(users)}, not to "
            f"{whose}; use a schedule of {whose}",
        )
        return None

    def locations(self, e: _Entry) -> tuple[LocationSpec, ...] | None:
        out: list[LocationSpec] = []
        start = len(self.issues)
        example = 'locations = [{ type = "google_meet", label = "Google Meet" }]'
        for path, data in e.table_list("locations", example=example):
            loc = _Entry(self, data, path, ("type", "label", "value"))
            kind = loc.string("type", required=True, example='"google_meet"', max_len=64)
            label = loc.string("label", required=True, example='"Google Meet"', max_len=255)
            value = loc.string("value", allow_empty=True)
            if loc.ok:
                assert kind and label
                out.append(LocationSpec(kind, label, value))
        return tuple(out) if len(self.issues) == start else None

    def questions(self, e: _Entry) -> tuple[QuestionSpec, ...] | None:
        out: list[QuestionSpec] = []
        start = len(self.issues)
        keys: dict[str, Path] = {}
        ids: dict[str, Path] = {}
        example = 'questions = [{ key = "company", label = "Company", type = "text" }]'
        for path, data in e.table_list("questions", example=example):
            q = _Entry(self, data, path, ("id", "key", "label", "type", "required", "options"))
            key = q.string(
                "key",
                required=True,
                example='"company"',
                pattern=_QUESTION_KEY_RE,
                rule="use 1-40 lowercase letters, digits or '_', starting with a letter",
            )
            label = q.string("label", required=True, example='"Company"', max_len=255)
            qtype = q.string("type", required=True, example='"text"', choices=QUESTION_TYPES)
            required = q.boolean("required", False)
            options = q.string_list("options", what="choices", if_empty="list the choices")
            if qtype in ("select", "multiselect") and "options" not in data:
                q.error("options", f'a {qtype} question needs options, e.g. options = ["A", "B"]')
            elif (
                qtype is not None and qtype not in ("select", "multiselect") and ("options" in data)
            ):
                q.error(
                    "options",
                    "only select and multiselect questions take options; "
                    "remove it or change the type",
                )
            qid = q.string(
                "id", pattern=_QUESTION_ID_RE, rule="use 1-64 letters, digits, '_' or '-'"
            )
            if key is not None:
                first = keys.setdefault(key, path)
                if first != path:
                    q.error(
                        "key",
                        f"{_show(key)} is already used by {format_path(first)}; "
                        "question keys must be unique within the event type",
                    )
                elif "id" not in data:
                    qid = f"q_{key}"
            if qid is not None:
                first = ids.setdefault(qid, path)
                if first != path:
                    q.error(
                        "id",
                        f"{_show(qid)} is already used by {format_path(first)}; "
                        "question ids must be unique within the event type",
                    )
            if q.ok:
                assert key and label and qtype and required is not None and qid
                out.append(QuestionSpec(qid, key, label, qtype, required, options))
        return tuple(out) if len(self.issues) == start else None


_TOP_KEYS = (
    "organization",
    "users",
    "teams",
    "schedules",
    "out_of_office",
    "event_types",
    "user_limits",
)
_USER_KEYS = ("username", "email", "first_name", "last_name", "timezone", "locale", "role")
_TEAM_KEYS = ("slug", "name", "members")
_SCHEDULE_KEYS = ("name", "user", "timezone", "default", "weekly", "overrides")
_LIMIT_KEYS = ("max_bookings_per_day", "max_bookings_per_week", "max_bookings_per_month")
_EVENT_TYPE_KEYS = (
    "slug",
    "title",
    "description",
    "duration_minutes",
    "owner",
    "team",
    "scheduling_type",
    "hosts",
    "active",
    "color",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "minimum_notice_minutes",
    "minimum_notice_hours",
    "future_limit_days",
    "slot_interval_minutes",
    *_LIMIT_KEYS,
    "seats_per_slot",
    "requires_confirmation",
    "allow_reschedule",
    "allow_cancel",
    "schedule",
    "locations",
    "questions",
)


def issue_at(text: str, path: Path, message: str) -> Issue:
    """An issue found after parsing (e.g. against the database), located in ``text``."""
    return Issue(_Locator(text).line_for(path), format_path(path), message)
