-- Issue 23: code maps between questionnaire versions (cross-version comparisons), and villages (thôn, tổ dân
-- phố) inside communes, so that a response may say which village it comes from and a commune can read its
-- scores village by village.

-- A code map from an older questionnaire version to a newer one, as imported (docs/questionnaire.md, "Code maps").
CREATE TABLE questionnaire_maps (
    from_id      UUID NOT NULL REFERENCES questionnaires (id),
    to_id        UUID NOT NULL REFERENCES questionnaires (id),
    source       TEXT NOT NULL,
    imported_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (from_id, to_id)
);

-- The villages and residential groups of a commune, from an imported list.
CREATE TABLE villages (
    unit_id  UUID NOT NULL REFERENCES admin_units (id),
    code     TEXT NOT NULL,
    name     TEXT NOT NULL,
    PRIMARY KEY (unit_id, code)
);

-- The village a response comes from (a code of `villages` for its commune), when the link or poster gave one.
ALTER TABLE responses ADD COLUMN village TEXT;
