-- Officials on their phones (issue 20): chats linked to accounts, where and which alerts each official wants.

-- A one-time code the console shows an official, typed to the bot as `/link CODE` to link that chat to the account.
-- Stored only as its keyed hash (HMAC under YKIEN_SECRET); it expires, and it links one chat once.
CREATE TABLE official_link_codes (
    code_hash    TEXT PRIMARY KEY,
    official_id  UUID NOT NULL REFERENCES officials (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);

CREATE INDEX official_link_codes_official ON official_link_codes (official_id);

-- A chat (Telegram user, Zalo follower) linked to an official's account: it gets the official's alerts and no longer
-- the citizen dialogue. One chat per account and channel; a chat belongs to one account.
CREATE TABLE official_chats (
    channel      TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    official_id  UUID NOT NULL REFERENCES officials (id) ON DELETE CASCADE,
    linked_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, user_id)
);

CREATE UNIQUE INDEX official_chats_account ON official_chats (official_id, channel);

-- Which alerts an official wants, how, and when not (quiet hours, Vietnam time "HH:MM"; an alert due in them waits
-- for their end). No row: every alert in the linked chat, none by email, 4 working hours' warning, no quiet hours.
CREATE TABLE official_alert_settings (
    official_id       UUID PRIMARY KEY REFERENCES officials (id) ON DELETE CASCADE,
    email             TEXT,
    by_chat           BOOLEAN NOT NULL,
    by_email          BOOLEAN NOT NULL,
    new_case          BOOLEAN NOT NULL,
    assigned          BOOLEAN NOT NULL,
    due_soon          BOOLEAN NOT NULL,
    overdue           BOOLEAN NOT NULL,
    citizen           BOOLEAN NOT NULL,
    digest            BOOLEAN NOT NULL,
    due_within_hours  BIGINT NOT NULL,
    quiet_from        TEXT,
    quiet_to          TEXT,
    updated_at        TIMESTAMPTZ NOT NULL
);

-- How far the alert ticker has read the cases' timelines (one row, 'case_events'): each event is looked at once.
CREATE TABLE alert_cursors (
    name  TEXT PRIMARY KEY,
    at    TIMESTAMPTZ NOT NULL
);
