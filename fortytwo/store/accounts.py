"""Organizations and users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fortytwo.db.database import Conn, Row, execute, fetch_all, fetch_one
from fortytwo.store.common import new_id, ts


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    created_at: str


@dataclass(frozen=True, slots=True)
class User:
    id: str
    organization_id: str
    username: str
    email: str
    first_name: str | None
    last_name: str | None
    timezone: str | None
    locale: str | None
    avatar_url: str | None
    role: str
    removed_at: str | None
    created_at: str
    has_password: bool = False


def _org(row: Row) -> Organization:
    return Organization(row["id"], row["name"], row["created_at"])


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        organization_id=row["organization_id"],
        username=row["username"],
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        timezone=row["timezone"],
        locale=row["locale"],
        avatar_url=row["avatar_url"],
        role=row["role"],
        removed_at=row["removed_at"],
        created_at=row["created_at"],
        has_password=row["password_hash"] is not None,
    )


async def create_org(conn: Conn, name: str, now: datetime) -> Organization:
    org_id = new_id()
    await execute(
        conn,
        "INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (org_id, name, ts(now), ts(now)),
    )
    return Organization(org_id, name, ts(now))


async def find_org(conn: Conn, name_or_id: str) -> Organization | None:
    row = await fetch_one(
        conn,
        "SELECT * FROM organizations WHERE id = ? OR name = ? COLLATE NOCASE",
        (name_or_id, name_or_id),
    )
    return _org(row) if row else None


async def get_org(conn: Conn, org_id: str) -> Organization | None:
    row = await fetch_one(conn, "SELECT * FROM organizations WHERE id = ?", (org_id,))
    return _org(row) if row else None


async def list_orgs(conn: Conn) -> list[Organization]:
    return [_org(r) for r in await fetch_all(conn, "SELECT * FROM organizations ORDER BY created_at")]


async def create_user(
    conn: Conn,
    *,
    organization_id: str,
    username: str,
    email: str,
    role: str,
    now: datetime,
    first_name: str | None = None,
    last_name: str | None = None,
    timezone: str | None = None,
    locale: str | None = None,
    password_hash: str | None = None,
) -> User:
    user_id = new_id()
    await execute(
        conn,
        """INSERT INTO users (id, organization_id, username, email, first_name, last_name,
               timezone, locale, role, password_hash, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (user_id, organization_id, username, email, first_name, last_name, timezone, locale,
         role, password_hash, ts(now), ts(now)),
    )
    user = await get_user(conn, user_id)
    assert user is not None
    return user


async def get_user(conn: Conn, user_id: str) -> User | None:
    row = await fetch_one(conn, "SELECT * FROM users WHERE id = ?", (user_id,))
    return _user(row) if row else None


async def find_user(conn: Conn, username_or_id: str, *, include_removed: bool = False) -> User | None:
    row = await fetch_one(
        conn,
        "SELECT * FROM users WHERE (id = ? OR username = ? COLLATE NOCASE)"
        + ("" if include_removed else " AND removed_at IS NULL"),
        (username_or_id, username_or_id),
    )
    return _user(row) if row else None


async def username_taken(conn: Conn, username: str) -> bool:
    row = await fetch_one(conn, "SELECT 1 FROM users WHERE username = ? COLLATE NOCASE", (username,))
    return row is not None


async def email_taken(conn: Conn, organization_id: str, email: str) -> bool:
    row = await fetch_one(
        conn,
        "SELECT 1 FROM users WHERE organization_id = ? AND email = ? COLLATE NOCASE"
        " AND removed_at IS NULL",
        (organization_id, email),
    )
    return row is not None


async def list_users(conn: Conn, organization_id: str | None = None) -> list[User]:
    if organization_id:
        rows = await fetch_all(
            conn,
            "SELECT * FROM users WHERE organization_id = ? AND removed_at IS NULL"
            " ORDER BY created_at, id",
            (organization_id,),
        )
    else:
        rows = await fetch_all(
            conn, "SELECT * FROM users WHERE removed_at IS NULL ORDER BY created_at, id"
        )
    return [_user(r) for r in rows]


async def set_password(conn: Conn, user_id: str, password_hash: str, now: datetime) -> None:
    await execute(
        conn,
        "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
        (password_hash, ts(now), user_id),
    )


async def get_password_hash(conn: Conn, user_id: str) -> str | None:
    row = await fetch_one(conn, "SELECT password_hash FROM users WHERE id = ?", (user_id,))
    return row["password_hash"] if row else None


async def remove_user(conn: Conn, user_id: str, now: datetime) -> None:
    await execute(
        conn,
        "UPDATE users SET removed_at = ?, updated_at = ? WHERE id = ? AND removed_at IS NULL",
        (ts(now), ts(now), user_id),
    )
