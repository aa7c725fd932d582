"""Who is calling: bearer-token verification with an in-process cache.

Verified tokens are cached by their lookup part, together with the stored secret hash, so
the hot path costs a dict lookup and a constant-time comparison. The cache is emptied
whenever the database's auth epoch moves (a trigger bumps it on revocation, rotation, scope
change or user removal, whoever made the change), and at once for changes made inside this
process.

A wrong token costs the same whatever is wrong with it: one HMAC of its secret part and one
constant-time comparison (against a stand-in when nothing is stored), and for a well-formed
token the same queries whether its lookup id exists, is cached or not. So answering times
do not tell a guesser which lookup ids exist.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from fortytwo.db.database import Database
from fortytwo.security.tokens import digest_matches, hash_secret, parse_token
from fortytwo.store import oauth as oauth_store
from fortytwo.store import tokens as token_store
from fortytwo.store.tokens import PatRow
from fortytwo.timefmt import Clock

log = logging.getLogger(__name__)
LAST_USED_RESOLUTION = timedelta(minutes=1)
# OAuth access tokens come and go every hour; past this many cached, start afresh
MAX_CACHED_ACCESS_TOKENS = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    auth_type: str  # "pat" | "oauth"
    credential_id: str  # PAT id (or access-token id)
    generation: int
    organization_id: str
    user_id: str
    scopes: frozenset[str]
    scope_list: tuple[str, ...]
    expires_at: datetime | None
    client_id: str | None = None

    @property
    def rate_key(self) -> str:
        if self.auth_type == "oauth":
            return f"{self.client_id}:{self.organization_id}"
        return self.credential_id


class AuthError(Exception):
    """401: code is invalid_token, token_expired or token_revoked."""

    def __init__(self, code: str, message: str, presented: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.presented = presented


@dataclass(slots=True)
class _Entry:
    principal: Principal
    secret_hash: bytes


@dataclass(slots=True)
class _Verified:
    token: str
    principal: Principal


MAX_VERIFIED = 100_000
# stand-ins compared against when there is nothing real to compare with
_NO_TOKEN = ""
_NO_SECRET = "0" * 32


class Authenticator:
    def __init__(self, db: Database, pepper: bytes, prefix: str, clock: Clock) -> None:
        self.db = db
        self.pepper = pepper
        self.prefix = prefix
        self.clock = clock
        self._cache: dict[str, _Entry] = {}
        # PATs seen and verified, by lookup, with the exact token text (see authenticate)
        self._verified: dict[str, _Verified] = {}
        start = len(prefix) + len("_pat_")
        self._lookup_slice = slice(start, start + 12)
        self._access_cache: dict[str, _Entry] = {}  # OAuth access tokens by lookup
        # derived per-user data (the /v1/me profile), dropped together with the tokens
        self.profiles: dict[str, object] = {}
        self._epoch: int | None = None
        self._last_used: dict[str, datetime] = {}
        self._last_flushed: dict[str, datetime] = {}

    # -- cache maintenance ---------------------------------------------------------------
    def invalidate(self) -> None:
        self._cache.clear()
        self._verified.clear()
        self._access_cache.clear()
        self.profiles.clear()

    async def poll_epoch(self) -> None:
        epoch = await token_store.auth_epoch(self.db.reader)
        if epoch != self._epoch:
            self._epoch = epoch
            self.invalidate()

    async def flush_last_used(self) -> None:
        if not self._last_used:
            return
        pending, self._last_used = self._last_used, {}
        async with self.db.write() as conn:
            await token_store.record_last_used(conn, pending)

    async def run_maintenance(self, poll_seconds: float) -> None:
        """Background loop: follow the auth epoch, write last-used times once a minute."""
        last_flush = self.clock()
        while True:
            try:
                await self.poll_epoch()
                now = self.clock()
                if now - last_flush >= LAST_USED_RESOLUTION:
                    last_flush = now
                    await self.flush_last_used()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep serving; a failed poll is retried next tick
                log.exception("auth maintenance tick failed")
            await asyncio.sleep(poll_seconds)

    # -- verification --------------------------------------------------------------------
    async def authenticate(self, header: str | None) -> Principal:
        # Fast path: a PAT this process already verified. Its lookup part (public) finds the
        # entry and the whole token is compared in constant time, which spares the parse
        # and the HMAC on the hot path. The comparison runs whether or not an entry exists,
        # so a lookup id in use costs no less than an unknown one.
        if header is not None and header.startswith("Bearer "):
            token = header[7:]
            entry = self._verified.get(token[self._lookup_slice])
            known = entry.token if entry is not None else _NO_TOKEN
            if token.isascii() and hmac.compare_digest(known, token) and entry is not None:
                return self._admit(entry.principal)
        return await self._authenticate_slow(header)

    def _admit(self, principal: Principal) -> Principal:
        now = self.clock()
        if principal.expires_at is not None and now >= principal.expires_at:
            raise AuthError("token_expired", "The token has expired; create a new one.")
        last = self._last_flushed.get(principal.credential_id)
        if last is None or now - last >= LAST_USED_RESOLUTION:
            self._last_flushed[principal.credential_id] = now
            self._last_used[principal.credential_id] = now
        return principal

    async def _authenticate_slow(self, header: str | None) -> Principal:
        """Every presented token costs one HMAC of its secret part and one constant-time
        comparison, whatever is wrong with it; a well-formed PAT also always costs the same
        two queries, whether its lookup id exists, is cached, was rotated away, or not."""
        if not header:
            raise AuthError(
                "invalid_token",
                "Send a token as `Authorization: Bearer <token>`.",
                presented=False,
            )
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and not value.strip():
            raise AuthError(
                "invalid_token",
                "The Authorization header has no token after Bearer.",
                presented=False,
            )
        if scheme.lower() != "bearer":
            raise AuthError(
                "invalid_token", "Use the Bearer scheme: `Authorization: Bearer <token>`."
            )
        token = value.strip()
        parsed = parse_token(token)
        if parsed is None or parsed.prefix != self.prefix:
            digest_matches(hash_secret(self.pepper, _NO_SECRET), None)
            raise AuthError(
                "invalid_token", "The token is malformed; copy it again from where it was issued."
            )
        digest = hash_secret(self.pepper, parsed.secret)
        if parsed.kind == "at":
            return await self._authenticate_access(parsed.lookup, digest)
        if parsed.kind == "rt":
            digest_matches(digest, None)
            raise AuthError(
                "invalid_token",
                "A refresh token is not accepted here; exchange it at /v1/oauth/token "
                "for an access token.",
            )
        entry = self._cache.get(parsed.lookup)
        if entry is not None:
            if not digest_matches(digest, entry.secret_hash):
                await self._fetch(parsed.lookup)  # the same work as an unknown lookup id
                raise AuthError("invalid_token", "The token is not recognized.")
        else:
            entry = await self._load(parsed.lookup, digest)
        if len(self._verified) < MAX_VERIFIED and token[self._lookup_slice] == parsed.lookup:
            self._verified[parsed.lookup] = _Verified(token, entry.principal)
        return self._admit(entry.principal)

    async def _fetch(self, lookup: str) -> tuple[PatRow | None, bytes | None]:
        """The PAT with this lookup id, and the hash of a secret rotated away under it.
        Both queries always run, so the database work does not depend on which exists."""
        pat = await token_store.get_pat_by_lookup(self.db.reader, lookup)
        retired = await token_store.get_retired_hash(self.db.reader, lookup)
        return pat, retired

    async def _load(self, lookup: str, digest: bytes) -> _Entry:
        pat, retired = await self._fetch(lookup)
        stored = pat.secret_hash if pat is not None else retired
        if not digest_matches(digest, stored):
            raise AuthError("invalid_token", "The token is not recognized.")
        if pat is None:
            raise AuthError(
                "token_revoked", "The token was rotated; use the new token instead."
            )
        if pat.revoked_at is not None:
            raise AuthError("token_revoked", "The token was revoked; create a new one.")
        if pat.user_removed_at is not None:
            raise AuthError(
                "token_revoked", "The token's user was removed from the organization."
            )
        principal = Principal(
            auth_type="pat",
            credential_id=pat.id,
            generation=pat.generation,
            organization_id=pat.organization_id,
            user_id=pat.user_id,
            scopes=frozenset(pat.scopes),
            scope_list=pat.scopes,
            expires_at=datetime.fromisoformat(pat.expires_at) if pat.expires_at else None,
        )
        entry = _Entry(principal, pat.secret_hash)
        self._cache[lookup] = entry
        return entry

    # -- OAuth access tokens ---------------------------------------------------------------
    async def _authenticate_access(self, lookup: str, digest: bytes) -> Principal:
        entry = self._access_cache.get(lookup)
        if entry is not None:
            if not digest_matches(digest, entry.secret_hash):
                # the same query as an unknown lookup id
                await oauth_store.get_token(self.db.reader, "access", lookup)
                raise AuthError("invalid_token", "The token is not recognized.")
        else:
            entry = await self._load_access(lookup, digest)
        principal = entry.principal
        if principal.expires_at is not None and self.clock() >= principal.expires_at:
            self._access_cache.pop(lookup, None)
            raise AuthError(
                "token_expired",
                "The access token has expired; get a new one with the refresh token or sign "
                "in again.",
            )
        return principal

    async def _load_access(self, lookup: str, digest: bytes) -> _Entry:
        row = await oauth_store.get_token(self.db.reader, "access", lookup)
        if not digest_matches(digest, row.secret_hash if row is not None else None):
            raise AuthError("invalid_token", "The token is not recognized.")
        assert row is not None
        if row.user_removed_at is not None:
            raise AuthError(
                "token_revoked", "The token's user was removed from the organization."
            )
        if row.dead:
            raise AuthError(
                "token_revoked", "The access token was revoked; sign in to the application again."
            )
        principal = Principal(
            auth_type="oauth",
            credential_id=row.id,
            generation=0,
            organization_id=row.organization_id,
            user_id=row.user_id,
            scopes=frozenset(row.scopes),
            scope_list=row.scopes,
            expires_at=row.expires_at,
            client_id=row.client_id,
        )
        entry = _Entry(principal, row.secret_hash)
        if len(self._access_cache) >= MAX_CACHED_ACCESS_TOKENS:
            self._access_cache.clear()
        self._access_cache[lookup] = entry
        return entry
