-- Administrative units and their lineage across reforms.
-- One SQL text for SQLite and PostgreSQL: ids are UUIDs made in Rust, dates are DATE, no engine-specific functions.
-- A GSO code is reused across reforms, so a unit is (code, valid_from); open ends are stored as the sentinel
-- days 0001-01-01 and 9999-12-31 so that the pair can carry a UNIQUE constraint on both engines.

CREATE TABLE admin_units (
    id          UUID PRIMARY KEY,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    kind        TEXT NOT NULL,
    parent_id   UUID REFERENCES admin_units (id),
    valid_from  DATE NOT NULL,
    valid_to    DATE NOT NULL,
    lat         DOUBLE PRECISION,
    lon         DOUBLE PRECISION,
    area_km2    DOUBLE PRECISION,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT admin_units_code_period UNIQUE (code, valid_from),
    CHECK (valid_from <= valid_to)
);

CREATE INDEX admin_units_parent ON admin_units (parent_id);
CREATE INDEX admin_units_level ON admin_units (level, valid_from);

CREATE TABLE unit_lineage (
    predecessor_id  UUID NOT NULL REFERENCES admin_units (id),
    successor_id    UUID NOT NULL REFERENCES admin_units (id),
    is_default      BOOLEAN NOT NULL,
    effective       DATE NOT NULL,
    PRIMARY KEY (predecessor_id, successor_id)
);

CREATE INDEX unit_lineage_successor ON unit_lineage (successor_id);
