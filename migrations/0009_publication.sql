-- Making results public (issue 19). A leader or administrator publishes one wave's numbers for their province —
-- over the whole wave (period '') or one of the plans' reporting periods ('2026-6t', '2026') —; nothing unpublished
-- is shown without a login. Withdrawing deletes the row; both acts are in the audit log.
CREATE TABLE publications (
    province_code  TEXT NOT NULL,
    wave_code      TEXT NOT NULL,
    period         TEXT NOT NULL,
    published_by   UUID NOT NULL REFERENCES officials (id),
    published_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (province_code, wave_code, period)
);

-- The reporter's choice to let an answered case be shown publicly ("cho phép công khai", off by default), whether
-- its photos may be shown too, and the text an official cleared for publication (their redaction of the report).
ALTER TABLE cases ADD COLUMN public_consent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE cases ADD COLUMN public_photos BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE cases ADD COLUMN public_text TEXT;
CREATE INDEX cases_public ON cases (public_consent, answered_at);

-- Client applications that may file cases through Open311 (POST /open311/v2/requests.json): the key is shown once
-- when made and stored only as its SHA-256.
CREATE TABLE api_clients (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
