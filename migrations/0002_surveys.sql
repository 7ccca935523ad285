-- Questionnaire versions, survey waves and their responses.
-- Anonymity by construction: `answers` and `responses` hold no identity of the person. A keyed hash of the
-- channel identity (HMAC with YKIEN_SECRET) lives only in `respondents` (to refuse a second response, with no
-- link to the response) and, while a response is being filled in, in `survey_sessions` (deleted on completion).

CREATE TABLE questionnaires (
    id           UUID PRIMARY KEY,
    code         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    source       TEXT NOT NULL,
    checksum     TEXT NOT NULL,
    imported_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT questionnaires_code_version UNIQUE (code, version)
);

CREATE TABLE waves (
    id                UUID PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    title             TEXT NOT NULL,
    questionnaire_id  UUID NOT NULL REFERENCES questionnaires (id),
    opens_at          TIMESTAMPTZ NOT NULL,
    closes_at         TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    CHECK (opens_at < closes_at)
);

-- The units a wave covers: a province covers its communes.
CREATE TABLE wave_units (
    wave_id  UUID NOT NULL REFERENCES waves (id),
    unit_id  UUID NOT NULL REFERENCES admin_units (id),
    PRIMARY KEY (wave_id, unit_id)
);

CREATE TABLE reporting_periods (
    wave_id    UUID NOT NULL REFERENCES waves (id),
    name       TEXT NOT NULL,
    starts_on  DATE NOT NULL,
    ends_on    DATE NOT NULL,
    PRIMARY KEY (wave_id, name),
    CHECK (starts_on <= ends_on)
);

CREATE TABLE responses (
    id            UUID PRIMARY KEY,
    wave_id       UUID NOT NULL REFERENCES waves (id),
    unit_id       UUID NOT NULL REFERENCES admin_units (id),
    channel       TEXT NOT NULL,
    complete      BOOLEAN NOT NULL,
    -- A random key chosen by an API client so that a retried POST stores one response.
    client_token  TEXT,
    started_at    TIMESTAMPTZ NOT NULL,
    completed_at  TIMESTAMPTZ,
    CONSTRAINT responses_client_token UNIQUE (wave_id, client_token)
);

CREATE INDEX responses_wave_unit ON responses (wave_id, unit_id, complete);

CREATE TABLE answers (
    response_id    UUID NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    question_code  TEXT NOT NULL,
    code           TEXT,
    text           TEXT,
    PRIMARY KEY (response_id, question_code)
);

CREATE TABLE respondents (
    wave_id        UUID NOT NULL REFERENCES waves (id),
    identity_hash  TEXT NOT NULL,
    PRIMARY KEY (wave_id, identity_hash)
);

CREATE TABLE survey_sessions (
    identity_hash  TEXT NOT NULL,
    wave_id        UUID NOT NULL REFERENCES waves (id),
    response_id    UUID NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    state          TEXT NOT NULL,
    revision       BIGINT NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (identity_hash, wave_id)
);
