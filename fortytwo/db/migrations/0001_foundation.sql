-- Organizations, users and personal access tokens.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX organizations_name_nocase ON organizations (name COLLATE NOCASE);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    username         TEXT NOT NULL,
    email            TEXT NOT NULL,
    first_name       TEXT,
    last_name        TEXT,
    timezone         TEXT,
    locale           TEXT,
    avatar_url       TEXT,
    role             TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'user')),
    password_hash    TEXT,
    removed_at       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
-- Usernames name booking pages, so they are unique across the whole server.
CREATE UNIQUE INDEX users_username_nocase ON users (username COLLATE NOCASE);
CREATE UNIQUE INDEX users_org_email_nocase ON users (organization_id, email COLLATE NOCASE)
    WHERE removed_at IS NULL;
CREATE INDEX users_org ON users (organization_id);

CREATE TABLE personal_access_tokens (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    user_id          TEXT NOT NULL REFERENCES users (id),
    name             TEXT NOT NULL,
    lookup           TEXT NOT NULL UNIQUE,
    secret_hash      BLOB NOT NULL,
    last_four        TEXT NOT NULL,
    scopes           TEXT NOT NULL,          -- JSON array of expanded scopes
    generation       INTEGER NOT NULL DEFAULT 1,
    expires_at       TEXT,
    revoked_at       TEXT,
    last_used_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX pat_org_name_active ON personal_access_tokens (organization_id, name COLLATE NOCASE)
    WHERE revoked_at IS NULL;
CREATE INDEX pat_user ON personal_access_tokens (user_id);

-- Lookups replaced by a rotation, kept so the old token answers token_revoked.
CREATE TABLE retired_token_lookups (
    lookup       TEXT PRIMARY KEY,
    token_id     TEXT NOT NULL REFERENCES personal_access_tokens (id),
    secret_hash  BLOB NOT NULL,
    retired_at   TEXT NOT NULL
);

-- A counter bumped on every change that can invalidate a cached credential; the server
-- polls it, so changes made by the command line reach a running server quickly.
CREATE TABLE auth_state (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  INTEGER NOT NULL
);
INSERT INTO auth_state (id, epoch) VALUES (1, 0);

CREATE TRIGGER pat_auth_change AFTER UPDATE OF lookup, secret_hash, scopes, expires_at, revoked_at
    ON personal_access_tokens
BEGIN
    UPDATE auth_state SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER user_auth_change AFTER UPDATE OF removed_at, organization_id ON users
BEGIN
    UPDATE auth_state SET epoch = epoch + 1 WHERE id = 1;
END;
