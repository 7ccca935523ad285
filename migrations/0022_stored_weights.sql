-- Survey weights stored per wave (issue 16, docs/weights.md): `ykien weights compute --wave W --margins FILE.csv`
-- rakes the wave's complete responses, per province, to population margins and keeps every response's weight with a
-- summary of how they were made. Recomputing replaces both in one transaction; `ykien weights clear` removes both.

-- One row per weighted wave: what the weights were computed from and what they cost in precision.
CREATE TABLE wave_weightings (
    wave_id         UUID PRIMARY KEY REFERENCES waves (id),
    computed_at     TIMESTAMPTZ NOT NULL,
    -- The largest weight allowed, as a multiple of the mean weight.
    cap             DOUBLE PRECISION NOT NULL,
    -- The margins file's name (without its folder), the SHA-256 of its bytes, and its comment lines (the cited
    -- source of the figures) as a JSON array of strings.
    margins_file    TEXT NOT NULL,
    margins_sha256  TEXT NOT NULL,
    sources         TEXT NOT NULL,
    -- Complete responses weighted, and those left out because their commune has no successor valid today.
    respondents     BIGINT NOT NULL,
    left_out        BIGINT NOT NULL,
    -- Per province, `ykien_analysis::ProvinceWeights` as a JSON array: respondents, incomplete profiles, whether
    -- the margins were met and in how many sweeps, weights trimmed, design effect, effective sample size.
    provinces       TEXT NOT NULL
);

-- Every weighted response's weight (mean 1 per wave and province). A response completed after the weights were
-- computed has no row: it is scored with weight 1, the mean weight, until the weights are computed again.
CREATE TABLE response_weights (
    response_id  UUID PRIMARY KEY REFERENCES responses (id) ON DELETE CASCADE,
    wave_id      UUID NOT NULL REFERENCES wave_weightings (wave_id),
    weight       DOUBLE PRECISION NOT NULL,
    CHECK (weight >= 0)
);

CREATE INDEX response_weights_wave ON response_weights (wave_id);
