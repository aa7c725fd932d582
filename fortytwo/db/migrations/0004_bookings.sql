-- Bookings, their history, idempotency records and the event outbox.

CREATE TABLE bookings (
    uid                    TEXT PRIMARY KEY,
    organization_id        TEXT NOT NULL REFERENCES organizations (id),
    event_type_id          TEXT NOT NULL REFERENCES event_types (id),
    host_user_id           TEXT REFERENCES users (id),
    status                 TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'canceled', 'rescheduled')),
    start_at               TEXT NOT NULL,
    end_at                 TEXT NOT NULL,
    timezone               TEXT NOT NULL,
    -- the event type's buffers when the booking was made: they pad it for later bookings
    buffer_before_minutes  INTEGER NOT NULL DEFAULT 0,
    buffer_after_minutes   INTEGER NOT NULL DEFAULT 0,
    title                  TEXT,
    attendee_email         TEXT NOT NULL,
    attendee_name          TEXT NOT NULL,
    attendee_first_name    TEXT,
    attendee_last_name     TEXT,
    attendee_phone         TEXT,
    attendee_timezone      TEXT,
    sms_opt_in             INTEGER NOT NULL DEFAULT 0,
    guests                 TEXT NOT NULL DEFAULT '[]',
    location               TEXT,             -- JSON {type, value, url} or NULL
    metadata               TEXT NOT NULL DEFAULT '{}',
    responses              TEXT NOT NULL DEFAULT '{}',
    utm                    TEXT NOT NULL DEFAULT '{}',
    version                INTEGER NOT NULL DEFAULT 1,
    rescheduled_from_uid   TEXT REFERENCES bookings (uid),
    rescheduled_to_uid     TEXT REFERENCES bookings (uid),
    reschedule_generation  INTEGER NOT NULL DEFAULT 0,
    cancelled_at           TEXT,
    cancellation_reason    TEXT,
    no_show_at             TEXT,
    no_show_reason         TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
CREATE INDEX bookings_host_active ON bookings (host_user_id, start_at)
    WHERE status IN ('pending', 'confirmed');
CREATE INDEX bookings_event_type_start ON bookings (event_type_id, start_at);
CREATE INDEX bookings_org_start ON bookings (organization_id, start_at, uid);
CREATE INDEX bookings_org_created ON bookings (organization_id, created_at, uid);
CREATE INDEX bookings_org_updated ON bookings (organization_id, updated_at, uid);

-- Append-only record of every change to a booking.
CREATE TABLE booking_history (
    id           INTEGER PRIMARY KEY,
    booking_uid  TEXT NOT NULL REFERENCES bookings (uid),
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    changes      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX booking_history_booking ON booking_history (booking_uid, id);

-- Stored 2xx answers of idempotent writes, committed with the write they describe.
CREATE TABLE idempotency_records (
    organization_id  TEXT NOT NULL,
    key              TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    status           INTEGER NOT NULL,
    headers          TEXT NOT NULL,
    body             BLOB NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    PRIMARY KEY (organization_id, key)
);
CREATE INDEX idempotency_expiry ON idempotency_records (expires_at);

-- Events written in the same transaction as the change that caused them.
CREATE TABLE events (
    id               TEXT PRIMARY KEY,          -- evt_<uuid>
    seq              INTEGER NOT NULL UNIQUE,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    event            TEXT NOT NULL,             -- dotted name, e.g. booking.created
    payload          TEXT NOT NULL,             -- JSON of the delivery envelope's data
    created_at       TEXT NOT NULL
);
CREATE INDEX events_org ON events (organization_id, seq);
