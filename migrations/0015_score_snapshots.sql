-- The last scores the dashboard computed per (wave, reporting period): the whole snapshot (every score with its
-- respondent count and interval, the withheld counts, the quartile cut points, the ignored rows) as JSON, with what
-- it was computed from. A restarted server, or a second instance behind the same load balancer, serves these at once
-- and recomputes in the background only when responses were added since.
CREATE TABLE score_snapshots (
    wave_code     TEXT NOT NULL,
    -- The plan period's code, or '' for the whole wave.
    period        TEXT NOT NULL,
    computed_at   TIMESTAMPTZ NOT NULL,
    -- Complete responses of the waves scored when the snapshot was computed.
    responses     BIGINT NOT NULL,
    -- `ykien_analysis::Scores` serialised with serde_json.
    scores        TEXT NOT NULL,
    PRIMARY KEY (wave_code, period)
);
