"""Personal access token rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from fortytwo.db.database import Conn, Row, execute, fetch_all, fetch_one
from fortytwo.store.common import ts


@dataclass(frozen=True, slots=True)
class PatRow:
    id: str
    organization_id: str
    user_id: str
    name: str
    lookup: str
    secret_hash: bytes
    last_four: str
    scopes: tuple[str, ...]
    generation: int
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None
    created_at: str
    username: str | None = None
    user_removed_at: str | None = None


_SELECT = """SELECT t.*, u.username AS username, u.removed_at AS user_removed_at
             FROM personal_access_tokens t JOIN users u ON u.id = t.user_id"""


def _pat(row: Row) -> PatRow:
    return PatRow(
        id=row["id"],
        organization_id=row["organization_id"],
        user_id=row["user_id"],
        name=row["name"],
        lookup=row["lookup"],
        secret_hash=bytes(row["secret_hash"]),
        last_four=row["last_four"],
        scopes=tuple(json.loads(row["scopes"])),
        generation=row["generation"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        created_at=row["created_at"],
        username=row["username"],
        user_removed_at=row["user_removed_at"],
    )


async def insert_pat(
    conn: Conn,
    *,
    token_id: str,
    organization_id: str,
    user_id: str,
    name: str,
    lookup: str,
    secret_hash: bytes,
    last_four: str,
    scopes: tuple[str, ...],
    expires_at: datetime | None,
    now: datetime,
) -> None:
    await execute(
        conn,
        """INSERT INTO personal_access_tokens (id, organization_id, user_id, name, lookup,
               secret_hash, last_four, scopes, expires_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (token_id, organization_id, user_id, name, lookup, secret_hash, last_four,
         json.dumps(list(scopes)), ts(expires_at) if expires_at else None, ts(now), ts(now)),
    )


async def count_active(conn: Conn, organization_id: str, now: datetime) -> int:
    row = await fetch_one(
        conn,
        """SELECT COUNT(*) FROM personal_access_tokens t JOIN users u ON u.id = t.user_id
           WHERE t.organization_id = ? AND t.revoked_at IS NULL AND u.removed_at IS NULL
             AND (t.expires_at IS NULL OR t.expires_at > ?)""",
        (organization_id, ts(now)),
    )
    return int(row[0]) if row else 0


async def name_in_use(conn: Conn, organization_id: str, name: str) -> bool:
    row = await fetch_one(
        conn,
        "SELECT 1 FROM personal_access_tokens WHERE organization_id = ?"
        " AND name = ? COLLATE NOCASE AND revoked_at IS NULL",
        (organization_id, name),
    )
    return row is not None


async def get_pat(conn: Conn, token_id: str) -> PatRow | None:
    row = await fetch_one(conn, _SELECT + " WHERE t.id = ?", (token_id,))
    return _pat(row) if row else None


async def get_pat_by_lookup(conn: Conn, lookup: str) -> PatRow | None:
    row = await fetch_one(conn, _SELECT + " WHERE t.lookup = ?", (lookup,))
    return _pat(row) if row else None


async def get_retired_hash(conn: Conn, lookup: str) -> bytes | None:
    row = await fetch_one(
        conn, "SELECT secret_hash FROM retired_token_lookups WHERE lookup = ?", (lookup,)
    )
    return bytes(row["secret_hash"]) if row else None


async def list_pats(conn: Conn, organization_id: str | None = None) -> list[PatRow]:
    if organization_id:
        rows = await fetch_all(
            conn, _SELECT + " WHERE t.organization_id = ? ORDER BY t.created_at, t.id",
            (organization_id,),
        )
    else:
        rows = await fetch_all(conn, _SELECT + " ORDER BY t.created_at, t.id")
    return [_pat(r) for r in rows]


async def rotate_pat(
    conn: Conn, pat: PatRow, *, lookup: str, secret_hash: bytes, last_four: str, now: datetime
) -> None:
    await execute(
        conn,
        "INSERT INTO retired_token_lookups (lookup, token_id, secret_hash, retired_at)"
        " VALUES (?, ?, ?, ?)",
        (pat.lookup, pat.id, pat.secret_hash, ts(now)),
    )
    await execute(
        conn,
        """UPDATE personal_access_tokens SET lookup = ?, secret_hash = ?, last_four = ?,
               generation = generation + 1, updated_at = ? WHERE id = ?""",
        (lookup, secret_hash, last_four, ts(now), pat.id),
    )


async def revoke_pat(conn: Conn, token_id: str, now: datetime) -> bool:
    changed = await execute(
        conn,
        "UPDATE personal_access_tokens SET revoked_at = ?, updated_at = ?"
        " WHERE id = ? AND revoked_at IS NULL",
        (ts(now), ts(now), token_id),
    )
    return changed > 0


async def set_scopes(conn: Conn, token_id: str, scopes: tuple[str, ...], now: datetime) -> None:
    await execute(
        conn,
        "UPDATE personal_access_tokens SET scopes = ?, updated_at = ? WHERE id = ?",
        (json.dumps(list(scopes)), ts(now), token_id),
    )


async def record_last_used(conn: Conn, used: dict[str, datetime]) -> None:
    await conn.executemany(
        "UPDATE personal_access_tokens SET last_used_at = ? WHERE id = ?"
        " AND (last_used_at IS NULL OR last_used_at < ?)",
        [(ts(when), token_id, ts(when)) for token_id, when in used.items()],
    )


async def auth_epoch(conn: Conn) -> int:
    row = await fetch_one(conn, "SELECT epoch FROM auth_state WHERE id = 1")
    return int(row[0]) if row else 0
