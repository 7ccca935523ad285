-- Sign-in throttling per (username as typed, client address) instead of a lock on the account: a stranger who
-- guesses passwords from one address slows only that address down, never the official at the commune office, and
-- an unknown username is throttled exactly like a real one, so the answers tell nobody which names exist.
CREATE TABLE login_throttles (
    username         TEXT NOT NULL,
    address          TEXT NOT NULL,
    -- Failures in a row from this address for this name; a successful sign-in or an administrator clears the row.
    failures         BIGINT NOT NULL,
    -- No attempt of this name from this address is checked before this time.
    blocked_until    TIMESTAMPTZ,
    last_failure_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (username, address)
);

CREATE INDEX login_throttles_last_failure ON login_throttles (last_failure_at);

-- The account-wide lock (5 failures from anywhere locked the account for everyone) is gone.
ALTER TABLE officials DROP COLUMN failed_logins;
ALTER TABLE officials DROP COLUMN locked_until;
