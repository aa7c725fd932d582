-- Webhook subscriptions, their delivery queue, and how far the outbox has been fanned out.

-- A subscription belongs to the credential that created it (its "sandbox"): a personal
-- access token at one rotation generation, an OAuth client, or nobody (the command line).
CREATE TABLE webhooks (
    id                    TEXT PRIMARY KEY,
    organization_id       TEXT NOT NULL REFERENCES organizations (id),
    owner_kind            TEXT NOT NULL CHECK (owner_kind IN ('pat', 'oauth', 'cli')),
    owner_id              TEXT NOT NULL DEFAULT '',     -- PAT id or OAuth client id; '' for cli
    owner_generation      INTEGER NOT NULL DEFAULT 0,   -- PAT rotation generation; 0 otherwise
    url                   TEXT NOT NULL,
    url_key               TEXT NOT NULL,                -- url with scheme and host lowercased
    events                TEXT NOT NULL,                -- JSON array of underscore names
    description           TEXT,
    status                TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    paused_reason         TEXT,
    secret                BLOB NOT NULL,                -- AES-GCM sealed signing secret
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,   -- deliveries that exhausted every attempt
    last_delivery_at      TEXT,
    last_delivery_ok      INTEGER,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE UNIQUE INDEX webhooks_sandbox_url
    ON webhooks (organization_id, owner_kind, owner_id, owner_generation, url_key);
CREATE INDEX webhooks_org_status ON webhooks (organization_id, status);

-- One row per (subscription, event): the durable queue and the delivery log in one.
-- status: pending (an attempt is due at next_attempt_at), succeeded, failed (gave up).
CREATE TABLE webhook_deliveries (
    n                INTEGER PRIMARY KEY AUTOINCREMENT,   -- insertion order, the list's keyset
    id               TEXT NOT NULL UNIQUE,                -- dlv_<uuid>, stable across retries
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    organization_id  TEXT NOT NULL,
    event_id         TEXT NOT NULL,                       -- evt_<uuid>
    event            TEXT NOT NULL,                       -- dotted name
    is_test          INTEGER NOT NULL DEFAULT 0,
    attempt          INTEGER NOT NULL DEFAULT 0,          -- attempts made so far
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    next_attempt_at  TEXT,
    status_code      INTEGER,
    error            TEXT,
    delivered_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_fanout ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, n);
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (created_at) WHERE status <> 'pending';

-- The last outbox sequence number whose event has been turned into deliveries. Events that
-- exist before webhooks do have no subscribers, so the cursor starts at the end.
CREATE TABLE webhook_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    outbox_seq  INTEGER NOT NULL
);
INSERT INTO webhook_state (id, outbox_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events;
