"""License keys: what a license grants, and the state a server runs in.

Plugins answer the ``validate_license(key)`` hook (authenticity and contents); this module
owns the policy: where the key comes from, when it has expired, and what the server does
then. Nothing here ever refuses to serve data: without a valid license the server runs as
the community edition (``plan: null``, no limits).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fortytwo.config import Settings
from fortytwo.timefmt import format_ts

if TYPE_CHECKING:
    from fortytwo.plugins.manager import Plugins

log = logging.getLogger("fortytwo.license")

# The ``aud`` claim of a fortytwo license token, so that no other token signed with the same
# vendor key passes as a license.
AUDIENCE = "fortytwo"
Status = Literal["none", "valid", "expired", "invalid"]


class LicenseError(Exception):
    """The key is not a genuine license (bad signature, wrong format, missing claims)."""


@dataclass(frozen=True)
class License:
    """What a license grants."""

    organization: str
    plan: str
    max_users: int | None = None
    expires_at: datetime | None = None
    features: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> License:
        """Build a license from plugin output or JWT claims (``exp`` as Unix seconds)."""
        organization = data.get("organization")
        plan = data.get("plan")
        if not isinstance(organization, str) or not organization.strip():
            raise LicenseError("the license names no organization")
        if not isinstance(plan, str) or not plan.strip():
            raise LicenseError("the license names no plan")
        max_users = data.get("max_users")
        if max_users is not None and (
            isinstance(max_users, bool) or not isinstance(max_users, int) or max_users < 1
        ):
            raise LicenseError("max_users must be a positive integer or absent")
        expires = data.get("expires_at", data.get("exp"))
        features = data.get("features") or ()
        if isinstance(features, str) or not isinstance(features, Sequence) or not all(
            isinstance(f, str) for f in features
        ):
            raise LicenseError("features must be a list of strings")
        return cls(
            organization=organization.strip(),
            plan=plan.strip(),
            max_users=max_users,
            expires_at=_expiry(expires),
            features=tuple(features),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "plan": self.plan,
            "max_users": self.max_users,
            "expires_at": format_ts(self.expires_at) if self.expires_at else None,
            "features": list(self.features),
        }


def _expiry(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise LicenseError("expires_at must carry a time zone")
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise LicenseError("the expiry is out of range") from None
    raise LicenseError("the expiry must be a timestamp")


@dataclass(frozen=True)
class LicenseState:
    """The license as evaluated at start-up (or by ``fortytwo license show``)."""

    status: Status
    license: License | None = None
    error: str | None = None
    source: str | None = None
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def edition(self) -> str:
        return "licensed" if self.status == "valid" else "community"

    def plan_at(self, now: datetime) -> str | None:
        """The plan in force at ``now``: None for the community edition."""
        lic = self.license
        if self.status != "valid" or lic is None:
            return None
        if lic.expires_at is not None and now >= lic.expires_at:
            return None
        return lic.plan

    def summary(self, users: int | None = None) -> str:
        """One line for logs and the command line."""
        lic = self.license
        if self.status == "none":
            return "no license configured: running as the community edition"
        if self.status == "invalid":
            return (
                f"LICENSE INVALID ({self.source}): {self.error}; running as the community "
                "edition, no data is locked"
            )
        assert lic is not None
        expiry = format_ts(lic.expires_at) if lic.expires_at else "never"
        if self.status == "expired":
            return (
                f"LICENSE EXPIRED on {expiry} (plan {lic.plan} for {lic.organization}); running "
                "as the community edition, no data is locked; install a renewed key"
            )
        line = f"license valid: plan {lic.plan} for {lic.organization}, expires {expiry}"
        if lic.max_users is not None and users is not None:
            line += f", {users} of {lic.max_users} users"
        return line

    def over_user_limit(self, users: int | None) -> bool:
        lic = self.license
        return (
            self.status == "valid"
            and lic is not None
            and lic.max_users is not None
            and users is not None
            and users > lic.max_users
        )

    def as_json(self, users: int | None = None) -> dict[str, Any]:
        return {
            "status": self.status,
            "edition": self.edition,
            "plan": self.license.plan if self.status == "valid" and self.license else None,
            "license": self.license.as_json() if self.license else None,
            "users": users,
            "over_user_limit": self.over_user_limit(users),
            "source": self.source,
            "error": self.error,
        }


def read_key(settings: Settings) -> tuple[str | None, str | None]:
    """The configured key and where it came from; (None, None) when none is configured."""
    if settings.license.key.strip():
        return settings.license.key.strip(), "license.key"
    if settings.license.key_file:
        path = Path(settings.license.key_file)
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise LicenseError(f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise LicenseError(f"{path} is not text") from None
        if not text:
            raise LicenseError(f"{path} is empty")
        return text, str(path)
    return None, None


def evaluate(plugins: Plugins, settings: Settings, now: datetime) -> LicenseState:
    """Read the configured key, ask the plugins, compare the expiry with ``now``.

    Never raises: whatever goes wrong becomes an ``invalid`` state with the reason.
    """
    source = settings.license.key_file or "license.key"
    try:
        key, source_found = read_key(settings)
    except LicenseError as exc:
        return LicenseState("invalid", error=str(exc), source=source, checked_at=now)
    if key is None:
        return LicenseState("none", checked_at=now)
    source = source_found or source
    try:
        answer = plugins.validate_license(key)
    except LicenseError as exc:
        return LicenseState("invalid", error=str(exc), source=source, checked_at=now)
    except Exception as exc:  # a plugin's bug must not stop the server
        log.exception("a validate_license plugin failed")
        return LicenseState(
            "invalid", error=f"the license check failed: {exc!r}", source=source, checked_at=now
        )
    if answer is None:
        return LicenseState(
            "invalid",
            error="no license check recognised the key",
            source=source,
            checked_at=now,
        )
    if answer.expires_at is not None and now >= answer.expires_at:
        return LicenseState("expired", license=answer, source=source, checked_at=now)
    return LicenseState("valid", license=answer, source=source, checked_at=now)


def report(state: LicenseState, users: int | None) -> None:
    """Log the state at start: problems at ERROR level so that they are seen."""
    line = state.summary(users)
    if state.status in ("invalid", "expired"):
        log.error(line)
    else:
        log.info(line)
    if state.over_user_limit(users):
        assert state.license is not None
        log.error(
            "LICENSE USER LIMIT EXCEEDED: %s users, the license allows %s; nothing is blocked, "
            "but talk to your vendor",
            users,
            state.license.max_users,
        )
