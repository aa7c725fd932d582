-- Teams, schedules, out-of-office, user limits and event types.

CREATE TABLE teams (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    slug             TEXT NOT NULL,
    name             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (organization_id, slug)
);

CREATE TABLE team_members (
    team_id   TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id),
    position  INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE schedules (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    user_id          TEXT NOT NULL REFERENCES users (id),
    name             TEXT NOT NULL,
    timezone         TEXT NOT NULL,
    is_default       INTEGER NOT NULL DEFAULT 0,
    weekly           TEXT NOT NULL,          -- JSON: 7 lists (Monday first) of [start, end] minutes
    overrides        TEXT NOT NULL DEFAULT '{}',  -- JSON: {"YYYY-MM-DD": [[start, end], ...]}
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (user_id, name)
);
CREATE UNIQUE INDEX schedules_one_default ON schedules (user_id) WHERE is_default = 1;

CREATE TABLE out_of_office (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    user_id          TEXT NOT NULL REFERENCES users (id),
    start_date       TEXT NOT NULL,
    end_date         TEXT NOT NULL,
    reason           TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX out_of_office_user ON out_of_office (user_id, start_date);

CREATE TABLE user_limits (
    user_id    TEXT PRIMARY KEY REFERENCES users (id),
    per_day    INTEGER,
    per_week   INTEGER,
    per_month  INTEGER
);

CREATE TABLE event_types (
    id                       TEXT PRIMARY KEY,
    organization_id          TEXT NOT NULL REFERENCES organizations (id),
    owner_user_id            TEXT REFERENCES users (id),
    team_id                  TEXT REFERENCES teams (id),
    slug                     TEXT NOT NULL,
    title                    TEXT NOT NULL,
    description              TEXT,
    duration_minutes         INTEGER NOT NULL,
    active                   INTEGER NOT NULL DEFAULT 1,
    scheduling_type          TEXT NOT NULL CHECK (scheduling_type IN ('individual', 'collective', 'group')),
    color                    TEXT NOT NULL,
    buffer_before_minutes    INTEGER NOT NULL DEFAULT 0,
    buffer_after_minutes     INTEGER NOT NULL DEFAULT 0,
    minimum_notice_minutes   INTEGER NOT NULL DEFAULT 0,
    future_limit_days        INTEGER NOT NULL DEFAULT 60,
    slot_interval_minutes    INTEGER NOT NULL,
    max_bookings_per_day     INTEGER,
    max_bookings_per_week    INTEGER,
    max_bookings_per_month   INTEGER,
    seats_per_slot           INTEGER,
    requires_confirmation    INTEGER NOT NULL DEFAULT 0,
    allow_reschedule         INTEGER NOT NULL DEFAULT 1,
    allow_cancel             INTEGER NOT NULL DEFAULT 1,
    locations                TEXT NOT NULL DEFAULT '[]',
    questions                TEXT NOT NULL DEFAULT '[]',
    schedule_id              TEXT REFERENCES schedules (id),
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    CHECK ((owner_user_id IS NULL) <> (team_id IS NULL))
);
CREATE UNIQUE INDEX event_types_owner_slug ON event_types (owner_user_id, slug) WHERE owner_user_id IS NOT NULL;
CREATE UNIQUE INDEX event_types_team_slug ON event_types (team_id, slug) WHERE team_id IS NOT NULL;
CREATE INDEX event_types_org_created ON event_types (organization_id, created_at, id);
CREATE INDEX event_types_org_title ON event_types (organization_id, title, id);
CREATE INDEX event_types_org_slug ON event_types (organization_id, slug);

CREATE TABLE event_type_hosts (
    event_type_id  TEXT NOT NULL REFERENCES event_types (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id),
    position       INTEGER NOT NULL,
    PRIMARY KEY (event_type_id, user_id)
);
CREATE INDEX event_type_hosts_user ON event_type_hosts (user_id);
