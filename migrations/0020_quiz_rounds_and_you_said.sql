-- Quiz rounds from the console and "you said, we did" on its own (issue 18, second part).

-- A round's communes (codes, comma-separated; empty: every commune), who made it, and the draft campaign that
-- announces it, if one was made with it.
ALTER TABLE quiz_rounds ADD COLUMN communes TEXT NOT NULL DEFAULT '';
ALTER TABLE quiz_rounds ADD COLUMN created_by UUID REFERENCES officials (id);
ALTER TABLE quiz_rounds ADD COLUMN campaign_id UUID REFERENCES campaigns (id);

-- The drafts a wave's end prepares are once per wave, period and commune, which their origin names: two instances
-- preparing at once store one.
CREATE UNIQUE INDEX campaigns_prepared_once ON campaigns (origin) WHERE origin LIKE 'you_said_we_did:%';

-- The (wave, report period) pairs whose drafts were prepared, so that a tick does not score them again.
CREATE TABLE you_said_prepared (
    wave_code    TEXT NOT NULL,
    period       TEXT NOT NULL,
    drafts       BIGINT NOT NULL,
    prepared_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (wave_code, period)
);
