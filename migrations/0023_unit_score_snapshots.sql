-- The scores of each commune as the dashboard last computed them (issue 17): the server scores a wave one
-- commune at a time from the database and keeps each commune's result here with what it was computed from, so that
-- a refresh — after a restart too, or on another instance — recomputes only the communes whose responses changed.
CREATE TABLE unit_score_snapshots (
    wave_code     TEXT NOT NULL,
    -- The plan period's code, or '' for the whole wave.
    period        TEXT NOT NULL,
    -- A digest of the codebook and the scoring options: a row computed another way is never reused.
    method        TEXT NOT NULL,
    -- The commune scores are reported for (after the lineage).
    unit_code     TEXT NOT NULL,
    -- What the result was computed from (responses counted, the last completion, the last quality review, the
    -- weights), as the service writes it: a commune whose basis is unchanged is not scored again.
    basis         TEXT NOT NULL,
    computed_at   TIMESTAMPTZ NOT NULL,
    -- `ykien_analysis::UnitScores` serialised with serde_json.
    scores        TEXT NOT NULL,
    PRIMARY KEY (wave_code, period, method, unit_code)
);

-- A commune's responses in id order, a page at a time (`Store::unit_answers_page`), without sorting the commune's
-- responses for every page or scanning the wave's.
CREATE INDEX responses_wave_unit_id ON responses (wave_id, unit_id, id);
