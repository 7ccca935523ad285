-- Ballot-stuffing (issue 22): how each complete response was made, kept apart from `responses` so that the
-- response itself still holds nothing but its answers' context, and how many responses each client address
-- completed per wave and commune (a keyed hash of the address, never linked to a response).

-- One row per complete response given through a conversation (web or chat): how long it took and over how many
-- screens; `flag` names why no person could have produced it (NULL: counted). A flagged response is left out of
-- scores until an administrator restores it (`reviewed_at`, `reviewed_by`; `flag` then cleared).
CREATE TABLE response_quality (
    response_id   UUID PRIMARY KEY REFERENCES responses (id) ON DELETE CASCADE,
    unit_id       UUID NOT NULL REFERENCES admin_units (id),
    wave_id       UUID NOT NULL REFERENCES waves (id),
    channel       TEXT NOT NULL,
    screens       BIGINT NOT NULL,
    seconds       BIGINT NOT NULL,
    flag          TEXT,
    flagged_at    TIMESTAMPTZ,
    reviewed_at   TIMESTAMPTZ,
    reviewed_by   UUID REFERENCES officials (id)
);

CREATE INDEX response_quality_flag ON response_quality (wave_id, flag);

-- Complete web responses per client address (keyed hash), wave and commune: the web survey refuses to start
-- another once an address reached the limit.
CREATE TABLE address_responses (
    wave_id       UUID NOT NULL REFERENCES waves (id),
    unit_id       UUID NOT NULL REFERENCES admin_units (id),
    address_hash  TEXT NOT NULL,
    responses     BIGINT NOT NULL,
    PRIMARY KEY (wave_id, unit_id, address_hash)
);
