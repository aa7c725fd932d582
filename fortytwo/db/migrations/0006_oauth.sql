-- OAuth 2.1: clients, sign-in sessions, remembered consent, authorization codes, grants
-- (token families) and their access and refresh tokens, and the sign-in slow-down.

-- A registered application. client_id is the public identifier (<prefix>_<26 Crockford>);
-- confidential clients have a secret, stored as an HMAC keyed by the server pepper.
-- organization_id: the organization that registered it (NULL for dynamic registration).
CREATE TABLE oauth_clients (
    id                TEXT PRIMARY KEY,
    organization_id   TEXT REFERENCES organizations (id),
    name              TEXT NOT NULL,
    client_type       TEXT NOT NULL CHECK (client_type IN ('public', 'confidential')),
    secret_hash       BLOB,
    secret_last_four  TEXT,
    redirect_uris     TEXT NOT NULL,           -- JSON array, matched exactly
    scopes            TEXT NOT NULL,           -- JSON array of expanded scopes it may ask for
    registered_by     TEXT NOT NULL CHECK (registered_by IN ('cli', 'dcr')),
    deleted_at        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CHECK ((client_type = 'confidential') = (secret_hash IS NOT NULL))
);
CREATE INDEX oauth_clients_org ON oauth_clients (organization_id);

-- A signed-in browser on the authorization pages (cookie <lookup>.<secret>).
CREATE TABLE oauth_sessions (
    lookup       TEXT PRIMARY KEY,
    secret_hash  BLOB NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX oauth_sessions_expiry ON oauth_sessions (expires_at);

-- Scopes a user has approved for a client; asking for anything more asks again.
CREATE TABLE oauth_consents (
    user_id     TEXT NOT NULL REFERENCES users (id),
    client_id   TEXT NOT NULL REFERENCES oauth_clients (id),
    scopes      TEXT NOT NULL,                 -- JSON array
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- One approved authorization and everything issued from it (the token family).
-- Revoking the grant revokes every token of the family at once.
CREATE TABLE oauth_grants (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES oauth_clients (id),
    user_id          TEXT NOT NULL REFERENCES users (id),
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    scopes           TEXT NOT NULL,             -- JSON array, as approved
    created_at       TEXT NOT NULL,
    revoked_at       TEXT,
    revoked_reason   TEXT
);
CREATE INDEX oauth_grants_client ON oauth_grants (client_id);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id);

-- Authorization codes: single use, short-lived, bound to everything the request named.
-- grant_id is set when the code is exchanged, so a replay can revoke what it issued.
CREATE TABLE oauth_codes (
    lookup           TEXT PRIMARY KEY,
    secret_hash      BLOB NOT NULL,
    client_id        TEXT NOT NULL REFERENCES oauth_clients (id),
    user_id          TEXT NOT NULL REFERENCES users (id),
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    redirect_uri     TEXT NOT NULL,
    code_challenge   TEXT NOT NULL,
    scopes           TEXT NOT NULL,             -- JSON array
    expires_at       TEXT NOT NULL,
    consumed_at      TEXT,
    grant_id         TEXT REFERENCES oauth_grants (id),
    created_at       TEXT NOT NULL
);
CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at);

-- Access ('access') and refresh ('refresh') tokens, stored like personal access tokens.
-- A refresh token is spent (used_at) when it is rotated; presenting it again revokes the
-- grant.
CREATE TABLE oauth_tokens (
    id           TEXT PRIMARY KEY,
    grant_id     TEXT NOT NULL REFERENCES oauth_grants (id),
    kind         TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    lookup       TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    last_four    TEXT NOT NULL,
    scopes       TEXT NOT NULL,                 -- JSON array
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    revoked_at   TEXT,
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX oauth_tokens_lookup ON oauth_tokens (kind, lookup);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_expiry ON oauth_tokens (expires_at);

-- Wrong-password counters per account ('account:<username>') and per client address
-- ('ip:<address>'): how many in the current window, and when the next attempt may come.
CREATE TABLE oauth_login_failures (
    key              TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  TEXT NOT NULL,
    next_allowed_at  TEXT NOT NULL
);

-- Revocations reach cached credentials through the auth epoch, like PAT changes do.
CREATE TRIGGER oauth_token_revoked AFTER UPDATE OF revoked_at ON oauth_tokens
BEGIN
    UPDATE auth_state SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER oauth_grant_revoked AFTER UPDATE OF revoked_at ON oauth_grants
BEGIN
    UPDATE auth_state SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER oauth_client_deleted AFTER UPDATE OF deleted_at ON oauth_clients
BEGIN
    UPDATE auth_state SET epoch = epoch + 1 WHERE id = 1;
END;
