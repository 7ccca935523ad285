-- Chat channels (Telegram, Zalo): the people who talk to the bots, the events received, the platforms' tokens.

-- One row per person per chat channel. `user_id` is the platform's id of the private chat, needed to send them
-- their cases' news; it is never linked to survey responses (those keep only a keyed hash, in survey_sessions and
-- respondents). `dialog` is the JSON state of the conversation (menu, feedback draft, survey position); `revision`
-- makes concurrent updates of one chat, possibly on two instances, safe.
CREATE TABLE chat_users (
    channel              TEXT NOT NULL,
    user_id              TEXT NOT NULL,
    lang                 TEXT NOT NULL,
    commune_code         TEXT,
    dialog               TEXT NOT NULL,
    revision             BIGINT NOT NULL,
    -- false once the platform said they cannot receive (blocked the bot, unfollowed the OA)
    reachable            BOOLEAN NOT NULL,
    -- true after /stop: send them nothing until they start again
    opted_out            BOOLEAN NOT NULL,
    -- the last time they did something (not delivery receipts): Zalo only lets an OA answer within 7 days of it
    last_interaction_at  TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, user_id)
);

-- Photos of a feedback report being written in a chat, already sanitised, until the report is sent.
CREATE TABLE chat_draft_photos (
    id          UUID PRIMARY KEY,
    channel     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes       BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (channel, user_id) REFERENCES chat_users (channel, user_id) ON DELETE CASCADE
);

CREATE INDEX chat_draft_photos_user ON chat_draft_photos (channel, user_id, created_at);

-- Every webhook event received, by the platform's id, so that a retried delivery is recognised and ignored. It is
-- answered 200 as soon as it is stored here, and handled after: `raw` keeps the body until `handled_at` is set, so
-- that an instance that dies before handling it leaves it to another (which claims it once `claimed_until` has
-- passed). Bodies of events the bots do not handle are kept for inspection.
CREATE TABLE chat_events (
    channel        TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    user_id        TEXT,
    raw            TEXT,
    received_at    TIMESTAMPTZ NOT NULL,
    claimed_until  TIMESTAMPTZ,
    handled_at     TIMESTAMPTZ,
    PRIMARY KEY (channel, event_id)
);

CREATE INDEX chat_events_received ON chat_events (received_at);
CREATE INDEX chat_events_unhandled ON chat_events (claimed_until) WHERE handled_at IS NULL;

-- A platform's OAuth tokens (Zalo). Refresh tokens are single-use, so one refresh at a time across instances:
-- whoever sets `refreshing_until` (compare-and-set on `revision`) refreshes; the others wait for the new row.
CREATE TABLE channel_tokens (
    channel            TEXT PRIMARY KEY,
    access_token       TEXT NOT NULL,
    refresh_token      TEXT NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL,
    refreshing_until   TIMESTAMPTZ,
    revision           BIGINT NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

-- The chat a case was reported from, to send its news there (NULL for web and API reports).
ALTER TABLE cases ADD COLUMN reporter_chat TEXT;

CREATE INDEX cases_reporter_chat ON cases (channel, reporter_chat);
