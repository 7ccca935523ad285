-- Reaching citizens as a group (issue 18): news subscriptions, Zalo's sending rules, campaigns, PAPI quizzes.

-- A chat user's choice about commune news ("Nhận tin" / "Dừng nhận tin"). No row: subscribed (starting the bot or
-- following the OA subscribes). `/stop` (chat_users.opted_out) stops everything, news included; this row only says
-- whether news come to someone who otherwise gets messages.
CREATE TABLE news_subscriptions (
    channel     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    subscribed  BOOLEAN NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, user_id)
);

-- Zalo's reply window: the citizen's last message (its id is what a reply quotes), when it came, and how many of
-- the 8 free replies of the 48 hours that follow were used. A new message from them opens a new window.
CREATE TABLE zalo_reply_windows (
    user_id       TEXT PRIMARY KEY,
    message_id    TEXT NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    replies_used  BIGINT NOT NULL
);

-- The OA's proactive quota for a month (Vietnam time, `YYYY-MM`) as read from Zalo, counted down here as messages
-- go, read again from Zalo now and then.
CREATE TABLE zalo_quota (
    month      TEXT PRIMARY KEY,
    remaining  BIGINT NOT NULL,
    total      BIGINT NOT NULL,
    read_at    TIMESTAMPTZ NOT NULL
);

-- How each message went out: `reply` (Zalo, quoting the citizen's message), `proactive` (Zalo, on the quota),
-- `direct` (Telegram), `opted_out` / `unsubscribed` (not sent: the citizen said no). NULL while it waits.
ALTER TABLE outbox ADD COLUMN sent_as TEXT;
ALTER TABLE outbox ADD COLUMN campaign_id UUID;
CREATE INDEX outbox_campaign ON outbox (campaign_id);

-- A message to the subscribers of some communes. `state`: draft → approved (queued, sends from `scheduled_at`) ↔
-- paused; draft or approved-not-started → cancelled.
CREATE TABLE campaigns (
    id            UUID PRIMARY KEY,
    title         TEXT NOT NULL,
    text_vi       TEXT NOT NULL,
    text_en       TEXT,
    link          TEXT,
    image         BYTEA,
    image_type    TEXT,
    -- comma-separated: telegram,zalo
    channels      TEXT NOT NULL,
    scheduled_at  TIMESTAMPTZ NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'paused', 'cancelled')),
    -- what made it: an official, or `you_said_we_did` for the drafts a wave's end prepares
    origin        TEXT NOT NULL,
    author_id     UUID REFERENCES officials (id),
    approver_id   UUID REFERENCES officials (id),
    approved_at   TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE campaign_communes (
    campaign_id   UUID NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    commune_code  TEXT NOT NULL,
    PRIMARY KEY (campaign_id, commune_code)
);

-- Every person a campaign targeted when it was approved, once: queued (with its outbox row) or why not.
CREATE TABLE campaign_recipients (
    campaign_id   UUID NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    commune_code  TEXT NOT NULL,
    -- queued | opted_out | unsubscribed | unreachable
    outcome       TEXT NOT NULL,
    outbox_id     UUID,
    PRIMARY KEY (campaign_id, channel, user_id)
);

-- A quiz round: questions from the bundled bank, open between two times, with a committed draw: the hash of the
-- seed is public from the opening, the seed itself from the closing.
CREATE TABLE quiz_rounds (
    id            UUID PRIMARY KEY,
    title         TEXT NOT NULL,
    question_ids  TEXT NOT NULL,
    opens_at      TIMESTAMPTZ NOT NULL,
    closes_at     TIMESTAMPTZ NOT NULL,
    seed          TEXT NOT NULL,
    seed_hash     TEXT NOT NULL,
    winners       BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

-- One entry per person per round: the person is only a keyed hash (as survey respondents are).
CREATE TABLE quiz_entries (
    round_id       UUID NOT NULL REFERENCES quiz_rounds (id) ON DELETE CASCADE,
    identity_hash  TEXT NOT NULL,
    entry_id       UUID NOT NULL UNIQUE,
    channel        TEXT NOT NULL,
    commune_code   TEXT NOT NULL,
    -- the answers given so far, comma-separated choice numbers
    answers        TEXT NOT NULL,
    score          BIGINT NOT NULL,
    finished_at    TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (round_id, identity_hash)
);
