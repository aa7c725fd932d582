"""OAuth rows: clients, sign-in sessions, consents, codes, grants, tokens, sign-in failures.

Every secret (client secrets, session cookies, codes, tokens) is stored as an HMAC keyed by
the server pepper, found by a public lookup part and compared by the caller in constant
time. Timestamps are stored in the wire format, which sorts as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from fortytwo.db.database import Conn, Row, execute, fetch_all, fetch_one
from fortytwo.store.common import ts
from fortytwo.timefmt import parse_db_ts


def _scopes(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def _json(values: Iterable[str]) -> str:
    return json.dumps(list(values))


# -- clients ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientRow:
    id: str
    organization_id: str | None
    name: str
    client_type: str  # "public" | "confidential"
    secret_hash: bytes | None
    secret_last_four: str | None
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    registered_by: str  # "cli" | "dcr"
    deleted_at: str | None
    created_at: str
    organization_name: str | None = None

    @property
    def confidential(self) -> bool:
        return self.client_type == "confidential"


_CLIENT_SELECT = """SELECT c.*, o.name AS organization_name FROM oauth_clients c
                    LEFT JOIN organizations o ON o.id = c.organization_id"""


def _client(row: Row) -> ClientRow:
    return ClientRow(
        id=row["id"],
        organization_id=row["organization_id"],
        name=row["name"],
        client_type=row["client_type"],
        secret_hash=bytes(row["secret_hash"]) if row["secret_hash"] is not None else None,
        secret_last_four=row["secret_last_four"],
        redirect_uris=tuple(json.loads(row["redirect_uris"])),
        scopes=_scopes(row["scopes"]),
        registered_by=row["registered_by"],
        deleted_at=row["deleted_at"],
        created_at=row["created_at"],
        organization_name=row["organization_name"],
    )


async def insert_client(
    conn: Conn,
    *,
    client_id: str,
    organization_id: str | None,
    name: str,
    client_type: str,
    secret_hash: bytes | None,
    secret_last_four: str | None,
    redirect_uris: tuple[str, ...],
    scopes: tuple[str, ...],
    registered_by: str,
    now: datetime,
) -> None:
    await execute(
        conn,
        """INSERT INTO oauth_clients (id, organization_id, name, client_type, secret_hash,
               secret_last_four, redirect_uris, scopes, registered_by, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (client_id, organization_id, name, client_type, secret_hash, secret_last_four,
         _json(redirect_uris), _json(scopes), registered_by, ts(now), ts(now)),
    )


async def get_client(conn: Conn, client_id: str) -> ClientRow | None:
    row = await fetch_one(conn, _CLIENT_SELECT + " WHERE c.id = ?", (client_id,))
    return _client(row) if row else None


async def list_clients(
    conn: Conn, organization_id: str | None = None, *, include_deleted: bool = False
) -> list[ClientRow]:
    where: list[str] = []
    params: list[str] = []
    if organization_id:
        where.append("c.organization_id = ?")
        params.append(organization_id)
    if not include_deleted:
        where.append("c.deleted_at IS NULL")
    sql = _CLIENT_SELECT + (" WHERE " + " AND ".join(where) if where else "")
    rows = await fetch_all(conn, sql + " ORDER BY c.created_at, c.id", params)
    return [_client(r) for r in rows]


async def set_client_secret(
    conn: Conn, client_id: str, secret_hash: bytes, last_four: str, now: datetime
) -> None:
    await execute(
        conn,
        "UPDATE oauth_clients SET secret_hash = ?, secret_last_four = ?, updated_at = ?"
        " WHERE id = ?",
        (secret_hash, last_four, ts(now), client_id),
    )


async def delete_client(conn: Conn, client_id: str, now: datetime) -> bool:
    """Mark the client deleted, revoke every grant it holds and forget its consents."""
    changed = await execute(
        conn,
        "UPDATE oauth_clients SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
        (ts(now), ts(now), client_id),
    )
    if not changed:
        return False
    await execute(
        conn,
        "UPDATE oauth_grants SET revoked_at = ?, revoked_reason = 'client_deleted'"
        " WHERE client_id = ? AND revoked_at IS NULL",
        (ts(now), client_id),
    )
    await execute(conn, "DELETE FROM oauth_consents WHERE client_id = ?", (client_id,))
    return True


# -- sign-in sessions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionRow:
    lookup: str
    secret_hash: bytes
    user_id: str
    username: str
    organization_id: str
    expires_at: datetime
    user_removed_at: str | None


async def insert_session(
    conn: Conn, *, lookup: str, secret_hash: bytes, user_id: str, now: datetime,
    expires_at: datetime,
) -> None:
    await execute(
        conn,
        "INSERT INTO oauth_sessions (lookup, secret_hash, user_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (lookup, secret_hash, user_id, ts(now), ts(expires_at)),
    )


async def get_session(conn: Conn, lookup: str) -> SessionRow | None:
    row = await fetch_one(
        conn,
        """SELECT s.lookup, s.secret_hash, s.user_id, s.expires_at, u.username,
                  u.organization_id, u.removed_at
           FROM oauth_sessions s JOIN users u ON u.id = s.user_id WHERE s.lookup = ?""",
        (lookup,),
    )
    if row is None:
        return None
    expires = parse_db_ts(row["expires_at"])
    assert expires is not None
    return SessionRow(
        lookup=row["lookup"],
        secret_hash=bytes(row["secret_hash"]),
        user_id=row["user_id"],
        username=row["username"],
        organization_id=row["organization_id"],
        expires_at=expires,
        user_removed_at=row["removed_at"],
    )


async def delete_session(conn: Conn, lookup: str) -> None:
    await execute(conn, "DELETE FROM oauth_sessions WHERE lookup = ?", (lookup,))


# -- remembered consent -----------------------------------------------------------------


async def get_consent(conn: Conn, user_id: str, client_id: str) -> tuple[str, ...]:
    row = await fetch_one(
        conn,
        "SELECT scopes FROM oauth_consents WHERE user_id = ? AND client_id = ?",
        (user_id, client_id),
    )
    return _scopes(row["scopes"]) if row else ()


async def save_consent(
    conn: Conn, user_id: str, client_id: str, scopes: tuple[str, ...], now: datetime
) -> None:
    await execute(
        conn,
        """INSERT INTO oauth_consents (user_id, client_id, scopes, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes,
               updated_at = excluded.updated_at""",
        (user_id, client_id, _json(scopes), ts(now), ts(now)),
    )


# -- authorization codes ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeRow:
    lookup: str
    secret_hash: bytes
    client_id: str
    user_id: str
    organization_id: str
    redirect_uri: str
    code_challenge: str
    scopes: tuple[str, ...]
    expires_at: datetime
    consumed_at: str | None
    grant_id: str | None


async def insert_code(
    conn: Conn,
    *,
    lookup: str,
    secret_hash: bytes,
    client_id: str,
    user_id: str,
    organization_id: str,
    redirect_uri: str,
    code_challenge: str,
    scopes: tuple[str, ...],
    expires_at: datetime,
    now: datetime,
) -> None:
    await execute(
        conn,
        """INSERT INTO oauth_codes (lookup, secret_hash, client_id, user_id, organization_id,
               redirect_uri, code_challenge, scopes, expires_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (lookup, secret_hash, client_id, user_id, organization_id, redirect_uri,
         code_challenge, _json(scopes), ts(expires_at), ts(now)),
    )


async def get_code(conn: Conn, lookup: str) -> CodeRow | None:
    row = await fetch_one(conn, "SELECT * FROM oauth_codes WHERE lookup = ?", (lookup,))
    if row is None:
        return None
    expires = parse_db_ts(row["expires_at"])
    assert expires is not None
    return CodeRow(
        lookup=row["lookup"],
        secret_hash=bytes(row["secret_hash"]),
        client_id=row["client_id"],
        user_id=row["user_id"],
        organization_id=row["organization_id"],
        redirect_uri=row["redirect_uri"],
        code_challenge=row["code_challenge"],
        scopes=_scopes(row["scopes"]),
        expires_at=expires,
        consumed_at=row["consumed_at"],
        grant_id=row["grant_id"],
    )


async def consume_code(conn: Conn, lookup: str, grant_id: str, now: datetime) -> bool:
    """Spend the code for ``grant_id``; False when it was already spent."""
    changed = await execute(
        conn,
        "UPDATE oauth_codes SET consumed_at = ?, grant_id = ? WHERE lookup = ? AND consumed_at IS NULL",
        (ts(now), grant_id, lookup),
    )
    return changed > 0


# -- grants (token families) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GrantRow:
    id: str
    client_id: str
    user_id: str
    organization_id: str
    scopes: tuple[str, ...]
    revoked_at: str | None


async def insert_grant(
    conn: Conn, *, grant_id: str, client_id: str, user_id: str, organization_id: str,
    scopes: tuple[str, ...], now: datetime,
) -> None:
    await execute(
        conn,
        """INSERT INTO oauth_grants (id, client_id, user_id, organization_id, scopes, created_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (grant_id, client_id, user_id, organization_id, _json(scopes), ts(now)),
    )


async def revoke_grant(conn: Conn, grant_id: str, reason: str, now: datetime) -> bool:
    changed = await execute(
        conn,
        "UPDATE oauth_grants SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
        (ts(now), reason, grant_id),
    )
    return changed > 0


# -- access and refresh tokens ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: str
    kind: str  # "access" | "refresh"
    grant_id: str
    lookup: str
    secret_hash: bytes
    scopes: tuple[str, ...]
    expires_at: datetime
    created_at: datetime
    used_at: str | None
    revoked_at: str | None
    # from the grant, the client and the user
    client_id: str
    user_id: str
    organization_id: str
    grant_scopes: tuple[str, ...]
    grant_revoked_at: str | None
    client_deleted_at: str | None
    username: str
    user_removed_at: str | None

    @property
    def dead(self) -> bool:
        """Revoked one way or another (itself, its family, its client or its user)."""
        return bool(
            self.revoked_at or self.grant_revoked_at or self.client_deleted_at
            or self.user_removed_at
        )


_TOKEN_SELECT = """SELECT t.*, g.client_id, g.user_id, g.organization_id,
                          g.scopes AS grant_scopes, g.revoked_at AS grant_revoked_at,
                          c.deleted_at AS client_deleted_at, u.username,
                          u.removed_at AS user_removed_at
                   FROM oauth_tokens t
                   JOIN oauth_grants g ON g.id = t.grant_id
                   JOIN oauth_clients c ON c.id = g.client_id
                   JOIN users u ON u.id = g.user_id"""


def _token(row: Row) -> TokenRow:
    expires = parse_db_ts(row["expires_at"])
    created = parse_db_ts(row["created_at"])
    assert expires is not None and created is not None
    return TokenRow(
        id=row["id"],
        kind=row["kind"],
        grant_id=row["grant_id"],
        lookup=row["lookup"],
        secret_hash=bytes(row["secret_hash"]),
        scopes=_scopes(row["scopes"]),
        expires_at=expires,
        created_at=created,
        used_at=row["used_at"],
        revoked_at=row["revoked_at"],
        client_id=row["client_id"],
        user_id=row["user_id"],
        organization_id=row["organization_id"],
        grant_scopes=_scopes(row["grant_scopes"]),
        grant_revoked_at=row["grant_revoked_at"],
        client_deleted_at=row["client_deleted_at"],
        username=row["username"],
        user_removed_at=row["user_removed_at"],
    )


async def insert_token(
    conn: Conn,
    *,
    token_id: str,
    grant_id: str,
    kind: str,
    lookup: str,
    secret_hash: bytes,
    last_four: str,
    scopes: tuple[str, ...],
    expires_at: datetime,
    now: datetime,
) -> None:
    await execute(
        conn,
        """INSERT INTO oauth_tokens (id, grant_id, kind, lookup, secret_hash, last_four, scopes,
               expires_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (token_id, grant_id, kind, lookup, secret_hash, last_four, _json(scopes),
         ts(expires_at), ts(now)),
    )


async def get_token(conn: Conn, kind: str, lookup: str) -> TokenRow | None:
    row = await fetch_one(conn, _TOKEN_SELECT + " WHERE t.kind = ? AND t.lookup = ?", (kind, lookup))
    return _token(row) if row else None


async def spend_refresh_token(conn: Conn, token_id: str, now: datetime) -> bool:
    """Mark a refresh token used by a rotation; False when it had been used already."""
    changed = await execute(
        conn,
        "UPDATE oauth_tokens SET used_at = ? WHERE id = ? AND kind = 'refresh' AND used_at IS NULL",
        (ts(now), token_id),
    )
    return changed > 0


async def revoke_token(conn: Conn, token_id: str, now: datetime) -> bool:
    changed = await execute(
        conn,
        "UPDATE oauth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (ts(now), token_id),
    )
    return changed > 0


async def count_live_tokens(conn: Conn, grant_id: str, now: datetime) -> int:
    row = await fetch_one(
        conn,
        """SELECT COUNT(*) FROM oauth_tokens WHERE grant_id = ? AND revoked_at IS NULL
               AND used_at IS NULL AND expires_at > ?""",
        (grant_id, ts(now)),
    )
    return int(row[0]) if row else 0


# -- sign-in slow-down ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailureRow:
    key: str
    failures: int
    last_failure_at: datetime
    next_allowed_at: datetime


async def get_failures(conn: Conn, keys: Iterable[str]) -> dict[str, FailureRow]:
    wanted = list(keys)
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = await fetch_all(
        conn, f"SELECT * FROM oauth_login_failures WHERE key IN ({marks})", wanted
    )
    out: dict[str, FailureRow] = {}
    for row in rows:
        last = parse_db_ts(row["last_failure_at"])
        allowed = parse_db_ts(row["next_allowed_at"])
        assert last is not None and allowed is not None
        out[row["key"]] = FailureRow(row["key"], int(row["failures"]), last, allowed)
    return out


async def save_failure(
    conn: Conn, key: str, failures: int, now: datetime, next_allowed_at: datetime
) -> None:
    await execute(
        conn,
        """INSERT INTO oauth_login_failures (key, failures, last_failure_at, next_allowed_at)
           VALUES (?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
               last_failure_at = excluded.last_failure_at,
               next_allowed_at = excluded.next_allowed_at""",
        (key, failures, ts(now), ts(next_allowed_at)),
    )


async def clear_failures(conn: Conn, key: str) -> None:
    await execute(conn, "DELETE FROM oauth_login_failures WHERE key = ?", (key,))


# -- clean-up ---------------------------------------------------------------------------


async def purge(conn: Conn, *, now: datetime, keep_until: datetime, failures_before: datetime) -> int:
    """Remove what can no longer be used: sessions past their end, codes and tokens that
    expired before ``keep_until``, grants left without codes or tokens, stale failure
    counters. Returns the number of rows removed."""
    removed = 0
    removed += await execute(conn, "DELETE FROM oauth_sessions WHERE expires_at <= ?", (ts(now),))
    removed += await execute(
        conn, "DELETE FROM oauth_codes WHERE expires_at < ?", (ts(keep_until),)
    )
    removed += await execute(
        conn, "DELETE FROM oauth_tokens WHERE expires_at < ?", (ts(keep_until),)
    )
    removed += await execute(
        conn,
        """DELETE FROM oauth_grants WHERE created_at < ?
             AND NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.grant_id = oauth_grants.id)
             AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.grant_id = oauth_grants.id)""",
        (ts(keep_until),),
    )
    removed += await execute(
        conn, "DELETE FROM oauth_login_failures WHERE last_failure_at < ?", (ts(failures_before),)
    )
    return removed
