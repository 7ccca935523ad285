-- Officials' accounts, the security side (issue 20): password reset by a one-time link sent by email, and TOTP
-- two-factor sign-in.

-- A link that lets an official set a new password: valid 30 minutes, used once. Only the SHA-256 of its random
-- token is stored, so a copy of the database opens no account. `email_key` is the dedupe key of the email that
-- carried it, whose body (with the link) is blanked once the link is used.
CREATE TABLE password_reset_links (
    token_hash   TEXT PRIMARY KEY,
    official_id  UUID NOT NULL REFERENCES officials (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ,
    email_key    TEXT NOT NULL
);

CREATE INDEX password_reset_links_official ON password_reset_links (official_id);

-- An official's TOTP (RFC 6238) secret, encrypted under a key derived from YKIEN_SECRET (docs/security.md).
-- `confirmed_at` NULL: being set up, not asked at sign-in until a first code confirms it. `last_step` is the
-- 30-second step of the last code accepted: a code is never accepted twice, nor one older than it.
CREATE TABLE official_totp (
    official_id   UUID PRIMARY KEY REFERENCES officials (id) ON DELETE CASCADE,
    secret        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    confirmed_at  TIMESTAMPTZ,
    last_step     BIGINT
);
