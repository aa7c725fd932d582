"""Settings: one frozen object built from config.toml, environment and CLI flags.

Precedence, lowest first: built-in defaults, the TOML file, ``FORTYTWO_<SECTION>_<KEY>``
environment variables (``FORTYTWO_<KEY>`` for top-level keys), then explicit overrides
passed by the command line. Relative paths in the file are taken relative to the file's
folder; relative paths from the environment or flags relative to the working directory.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

ENV_PREFIX = "FORTYTWO_"
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the fix."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8042
    tls_cert: str = ""
    tls_key: str = ""
    trusted_proxies: tuple[str, ...] = ()
    shutdown_timeout: float = 10.0
    realm: str = "42min"
    access_log: bool = True
    log_level: str = "info"
    # abuse limits (fortytwo.http.connections and the /v1 query check)
    keepalive_timeout: float = 75.0
    header_timeout: float = 10.0
    max_connections: int = 1000
    max_connections_per_ip: int = 64
    max_line_size: int = 8192
    max_field_size: int = 8192
    max_headers: int = 100
    max_query_length: int = 4096
    max_query_params: int = 100


@dataclass(frozen=True)
class DatabaseSettings:
    path: str = ""
    busy_timeout_ms: int = 5000


@dataclass(frozen=True)
class SecuritySettings:
    pepper_file: str = ""
    secret_key_file: str = ""
    auth_cache_poll_seconds: float = 0.5


@dataclass(frozen=True)
class RateLimitSettings:
    pat: int = 120
    oauth: int = 120
    anonymous: int = 30
    oauth_authorize: int = 30
    oauth_token: int = 60
    oauth_revoke: int = 60
    oauth_introspect: int = 120
    oauth_register: int = 5


@dataclass(frozen=True)
class BookingSettings:
    slot_lock_timeout_seconds: float = 2.0
    idempotency_ttl_hours: int = 24


@dataclass(frozen=True)
class PluginSettings:
    dirs: tuple[str, ...] = ()
    entry_points: bool = True


@dataclass(frozen=True)
class LicenseSettings:
    key: str = ""
    key_file: str = ""
    public_key: str = ""
    public_key_file: str = ""


@dataclass(frozen=True)
class WebhookSettings:
    allow_private_targets: bool = False
    retry_delays_seconds: tuple[int, ...] = (60, 300, 1800, 7200, 43200)
    pause_after_exhausted: int = 5
    log_retention_days: int = 30
    timeout_seconds: float = 10.0
    max_concurrency_per_target: int = 4
    poll_interval_seconds: float = 0.1


@dataclass(frozen=True)
class OAuthSettings:
    dcr_enabled: bool = False
    access_token_ttl_seconds: int = 3600
    code_ttl_seconds: int = 300
    refresh_token_ttl_days: int = 30
    session_ttl_hours: int = 12
    login_free_failures: int = 3
    login_max_delay_seconds: int = 30
    login_failure_window_minutes: int = 15


@dataclass(frozen=True)
class Settings:
    data_dir: str = "data"
    public_url: str = ""
    booking_base_url: str = ""
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    bookings: BookingSettings = field(default_factory=BookingSettings)
    plugins: PluginSettings = field(default_factory=PluginSettings)
    license: LicenseSettings = field(default_factory=LicenseSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    oauth: OAuthSettings = field(default_factory=OAuthSettings)

    # -- derived values ---------------------------------------------------------------
    @cached_property
    def database_path(self) -> Path:
        return Path(self.database.path or Path(self.data_dir) / "fortytwo.db")

    @cached_property
    def pepper_path(self) -> Path:
        return Path(self.security.pepper_file or Path(self.data_dir) / "pepper")

    @cached_property
    def secret_key_path(self) -> Path:
        return Path(self.security.secret_key_file or Path(self.data_dir) / "secret.key")

    @cached_property
    def plugin_dirs(self) -> tuple[Path, ...]:
        """Folders searched for ``*.py`` plugins; none configured = ``<data_dir>/plugins``."""
        return tuple(Path(d) for d in self.plugins.dirs) or (Path(self.data_dir) / "plugins",)

    @cached_property
    def tls_enabled(self) -> bool:
        return bool(self.server.tls_cert and self.server.tls_key)

    @cached_property
    def loopback_only(self) -> bool:
        return is_loopback_host(self.server.host)

    @cached_property
    def https_enforced(self) -> bool:
        """Plain HTTP is acceptable only on a loopback-only server without TLS."""
        return not (self.loopback_only and not self.tls_enabled and not self.server.trusted_proxies)

    @cached_property
    def effective_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls_enabled else "http"
        host = "127.0.0.1" if self.loopback_only else self.server.host
        return f"{scheme}://{host}:{self.server.port}"

    @cached_property
    def effective_booking_base_url(self) -> str:
        return (self.booking_base_url or self.effective_public_url).rstrip("/")


SECTIONS: dict[str, type] = {
    name: hint for name, hint in get_type_hints(Settings).items() if dataclasses.is_dataclass(hint)
}


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _coerce(value: Any, target: Any, key: str, from_text: bool) -> Any:
    origin = get_origin(target)
    if origin is tuple:
        (item_type, _) = get_args(target)
        if from_text and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__}")
        return tuple(_coerce(v, item_type, key, from_text) for v in value)
    if target is bool:
        if isinstance(value, bool):
            return value
        if from_text and isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
            return True
        if from_text and isinstance(value, str) and value.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if target is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if from_text and isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if target is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if from_text and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if target is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    raise ConfigError(f"{key}: unsupported setting type")  # pragma: no cover


def _build(cls: type, raw: Mapping[str, Any], prefix: str, text_keys: set[str]) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        where = f"[{prefix.rstrip('.')}]" if prefix else "the top level"
        raise ConfigError(
            f"unknown setting {prefix}{unknown[0]!s} in {where}; "
            f"known keys: {', '.join(sorted(known))}"
        )
    kwargs: dict[str, Any] = {}
    for name, value in raw.items():
        target = hints[name]
        full = f"{prefix}{name}"
        if dataclasses.is_dataclass(target):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{full}: expected a [{name}] table")
            kwargs[name] = _build(target, value, f"{full}.", text_keys)
        else:
            kwargs[name] = _coerce(value, target, full, full in text_keys)
    return cls(**kwargs)


def _absolutize(raw: dict[str, Any], base: Path) -> None:
    """Make the file's relative paths relative to the file's own folder."""

    def fix(table: dict[str, Any], key: str) -> None:
        value = table.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            table[key] = str((base / value).resolve())

    fix(raw, "data_dir")
    for section, key in (
        ("database", "path"),
        ("security", "pepper_file"),
        ("security", "secret_key_file"),
        ("server", "tls_cert"),
        ("server", "tls_key"),
        ("license", "key_file"),
        ("license", "public_key_file"),
    ):
        if isinstance(raw.get(section), dict):
            fix(raw[section], key)
    plugins = raw.get("plugins")
    if isinstance(plugins, dict) and isinstance(plugins.get("dirs"), list):
        plugins["dirs"] = [
            str((base / d).resolve()) if isinstance(d, str) and d and not Path(d).is_absolute() else d
            for d in plugins["dirs"]
        ]


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    top_level = {f.name for f in dataclasses.fields(Settings)} - set(SECTIONS)
    # longest section names first so that e.g. RATE_LIMITS_ wins over a shorter match
    sections = sorted(SECTIONS, key=len, reverse=True)
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in {"FORTYTWO_CONFIG", "FORTYTWO_DATA_DIR"}:
            continue
        rest = name[len(ENV_PREFIX):].lower()
        for section in sections:
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1:]
                known = {f.name for f in dataclasses.fields(SECTIONS[section])}
                if key in known:
                    out.setdefault(section, {})[key] = value
                    break
        else:
            if rest in top_level:
                out[rest] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        elif isinstance(value, Mapping):
            base[key] = dict(value)
        else:
            base[key] = value


def _flatten(raw: Mapping[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in raw.items():
        if isinstance(value, Mapping):
            keys |= _flatten(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the TOML file (if any), apply environment and explicit overrides, validate."""
    raw: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        try:
            with path.open("rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        _absolutize(raw, path.resolve().parent)
    env = _env_overrides(os.environ if environ is None else environ)
    _merge(raw, env)
    text_keys = _flatten(env)
    if overrides:
        _merge(raw, overrides)
        text_keys -= _flatten(overrides)
    settings = _build(Settings, raw, "", text_keys)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    if not 0 <= settings.server.port <= 65535:
        raise ConfigError("server.port: must be between 0 and 65535")
    if bool(settings.server.tls_cert) != bool(settings.server.tls_key):
        raise ConfigError("server.tls_cert and server.tls_key must be set together")
    for proxy in settings.server.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"server.trusted_proxies: {proxy!r} is not an IP address or network"
            ) from None
    for name in ("public_url", "booking_base_url"):
        value = getattr(settings, name)
        if value and not value.startswith(("http://", "https://")):
            raise ConfigError(f"{name}: must start with https:// (or http:// for local use)")
    if (
        settings.public_url.startswith("http://")
        and settings.https_enforced
    ):
        raise ConfigError(
            "public_url: must be https:// unless the server is bound to loopback only"
        )
    for name in (
        "pat", "oauth", "anonymous", "oauth_authorize", "oauth_token", "oauth_revoke",
        "oauth_introspect", "oauth_register",
    ):
        if getattr(settings.rate_limits, name) < 1:
            raise ConfigError(f"rate_limits.{name}: must be at least 1 request per minute")
    _validate_server_limits(settings.server)
    if settings.server.log_level not in LOG_LEVELS:
        raise ConfigError(f"server.log_level: must be one of {', '.join(LOG_LEVELS)}")
    if settings.bookings.slot_lock_timeout_seconds <= 0:
        raise ConfigError("bookings.slot_lock_timeout_seconds: must be positive")
    for name in ("key", "public_key"):
        if getattr(settings.license, name) and getattr(settings.license, f"{name}_file"):
            raise ConfigError(f"license.{name} and license.{name}_file: set one or the other")
    _validate_webhooks(settings.webhooks)
    _validate_oauth(settings.oauth)


def _validate_server_limits(server: ServerSettings) -> None:
    for name, low, high in (
        ("keepalive_timeout", 1, 3600), ("header_timeout", 0.1, 300),
        ("max_connections", 1, 1_000_000), ("max_connections_per_ip", 1, 1_000_000),
        ("max_line_size", 1024, 65536), ("max_field_size", 1024, 65536),
        ("max_headers", 16, 1000), ("max_query_length", 256, 65536),
        ("max_query_params", 10, 10_000),
    ):
        if not low <= getattr(server, name) <= high:
            raise ConfigError(f"server.{name}: must be between {low} and {high}")


def _validate_oauth(oauth: OAuthSettings) -> None:
    for name, low in (
        ("access_token_ttl_seconds", 60), ("code_ttl_seconds", 10), ("refresh_token_ttl_days", 1),
        ("session_ttl_hours", 1), ("login_failure_window_minutes", 1),
    ):
        if getattr(oauth, name) < low:
            raise ConfigError(f"oauth.{name}: must be at least {low}")
    if oauth.access_token_ttl_seconds > 86400:
        raise ConfigError("oauth.access_token_ttl_seconds: must be at most 86400 (one day)")
    if oauth.code_ttl_seconds > 600:
        raise ConfigError("oauth.code_ttl_seconds: must be at most 600 (ten minutes)")
    if oauth.login_free_failures < 0 or oauth.login_max_delay_seconds < 0:
        raise ConfigError(
            "oauth.login_free_failures and oauth.login_max_delay_seconds: must be 0 or more"
        )


def _validate_webhooks(hooks: WebhookSettings) -> None:
    if len(hooks.retry_delays_seconds) > 20 or any(d < 0 for d in hooks.retry_delays_seconds):
        raise ConfigError(
            "webhooks.retry_delays_seconds: at most 20 delays, each 0 seconds or more"
        )
    if hooks.pause_after_exhausted < 1:
        raise ConfigError("webhooks.pause_after_exhausted: must be at least 1")
    if hooks.log_retention_days < 1:
        raise ConfigError("webhooks.log_retention_days: must be at least 1")
    if not 0 < hooks.timeout_seconds <= 60:
        raise ConfigError("webhooks.timeout_seconds: must be more than 0 and at most 60")
    if hooks.max_concurrency_per_target < 1:
        raise ConfigError("webhooks.max_concurrency_per_target: must be at least 1")
    if not 0 < hooks.poll_interval_seconds <= 10:
        raise ConfigError("webhooks.poll_interval_seconds: must be more than 0 and at most 10")


def settings_keys() -> set[str]:
    """Every settable key as ``section.key`` (or ``key`` at the top level)."""
    keys: set[str] = set()
    for f in dataclasses.fields(Settings):
        if f.name in SECTIONS:
            keys |= {f"{f.name}.{sub.name}" for sub in dataclasses.fields(SECTIONS[f.name])}
        else:
            keys.add(f.name)
    return keys
