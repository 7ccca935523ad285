-- Feedback cases, officials, and what happens between them.
-- The reporter's contact lives apart from the case (`case_reporters`): only the intake desk reads it; handlers see
-- a pseudonym. Every transition is an event of the timeline; every official action is in the audit log.

CREATE TABLE officials (
    id             UUID PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'intake', 'commune_officer', 'department_officer', 'leader')),
    -- For officers: the office type they work in (see data/categories.toml).
    office         TEXT,
    failed_logins  BIGINT NOT NULL,
    locked_until   TIMESTAMPTZ,
    disabled       BOOLEAN NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);

-- The units an official may see and act on: a province covers its communes.
CREATE TABLE official_scopes (
    official_id  UUID NOT NULL REFERENCES officials (id) ON DELETE CASCADE,
    unit_id      UUID NOT NULL REFERENCES admin_units (id),
    PRIMARY KEY (official_id, unit_id)
);

CREATE TABLE official_sessions (
    -- SHA-256 of the session cookie: a stolen database does not give live sessions.
    token_hash   TEXT PRIMARY KEY,
    official_id  UUID NOT NULL REFERENCES officials (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE cases (
    id                 UUID PRIMARY KEY,
    code               TEXT NOT NULL UNIQUE,
    unit_id            UUID NOT NULL REFERENCES admin_units (id),
    category           TEXT NOT NULL,
    subdimension       TEXT NOT NULL,
    office             TEXT NOT NULL,
    tier               TEXT NOT NULL,
    state              TEXT NOT NULL,
    resume_to          TEXT,
    text               TEXT NOT NULL,
    lat                DOUBLE PRECISION,
    lon                DOUBLE PRECISION,
    channel            TEXT NOT NULL,
    received_at        TIMESTAMPTZ NOT NULL,
    accept_due_at      TIMESTAMPTZ NOT NULL,
    answer_due_at      TIMESTAMPTZ,
    extension_minutes  BIGINT NOT NULL,
    answered_at        TIMESTAMPTZ,
    closed_at          TIMESTAMPTZ,
    duplicate_of       UUID REFERENCES cases (id),
    -- When the case went past its deadline unanswered and was flagged to the unit's leaders.
    escalated_at       TIMESTAMPTZ,
    -- Bumped by every change, so that a form built on an older version is refused, not applied.
    revision           BIGINT NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

CREATE INDEX cases_unit_state ON cases (unit_id, state);
CREATE INDEX cases_received ON cases (received_at);

CREATE TABLE case_reporters (
    case_id    UUID PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    name       TEXT,
    phone      TEXT,
    email      TEXT,
    pseudonym  TEXT NOT NULL,
    -- SHA-256 of a key only the reporter's browser or chat holds: it lets them rate, reply and reopen.
    key_hash   TEXT NOT NULL
);

CREATE TABLE case_events (
    id           UUID PRIMARY KEY,
    case_id      UUID NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at           TIMESTAMPTZ NOT NULL,
    actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('citizen', 'official', 'system')),
    official_id  UUID REFERENCES officials (id),
    action       TEXT NOT NULL,
    from_state   TEXT,
    to_state     TEXT NOT NULL,
    -- Shown on the public tracking page when true (the answer, a rejection's reason); internal notes are not.
    public       BOOLEAN NOT NULL,
    note         TEXT
);

CREATE INDEX case_events_case ON case_events (case_id, at);

CREATE TABLE case_answers (
    id             UUID PRIMARY KEY,
    case_id        UUID NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    what_was_done  TEXT NOT NULL,
    by_unit        TEXT NOT NULL,
    legal_basis    TEXT,
    official_id    UUID REFERENCES officials (id),
    at             TIMESTAMPTZ NOT NULL
);

CREATE TABLE case_pauses (
    case_id     UUID NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ,
    PRIMARY KEY (case_id, started_at)
);

CREATE TABLE attachments (
    id            UUID PRIMARY KEY,
    case_id       UUID NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    -- Who attached it: the citizen's report, or an official's answer (evidence).
    source        TEXT NOT NULL CHECK (source IN ('report', 'answer')),
    content_type  TEXT NOT NULL,
    bytes         BYTEA NOT NULL,
    sha256        TEXT NOT NULL,
    width         BIGINT NOT NULL,
    height        BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX attachments_case ON attachments (case_id);

CREATE TABLE case_ratings (
    case_id  UUID PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    score    BIGINT NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment  TEXT,
    at       TIMESTAMPTZ NOT NULL
);

-- Messages to citizens, sent at least once by whichever instance claims them; `dedupe_key` makes a retry of the
-- same event one message.
CREATE TABLE outbox (
    id               UUID PRIMARY KEY,
    dedupe_key       TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    case_id          UUID REFERENCES cases (id) ON DELETE CASCADE,
    body             TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    locked_until     TIMESTAMPTZ,
    sent_at          TIMESTAMPTZ,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL
);

CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);

CREATE TABLE audit_log (
    id           UUID PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    official_id  UUID REFERENCES officials (id),
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    before_state TEXT,
    after_state  TEXT,
    detail       TEXT
);

CREATE INDEX audit_log_at ON audit_log (at);
