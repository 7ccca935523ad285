-- The case side of issue 20: news by email to reporters who left an address, and answer templates.
-- (Cases recorded by the intake desk need no new column: their channel says hotline, walk_in, letter or email, and
-- their first timeline entry, action 'intake', names the official who recorded them.)

-- A random token in the unsubscribe link of a case's news by email (`/unsubscribe/{token}`), made when the case is
-- filed with an email address; when the reporter stopped those news. The token only stops news of one case, so it
-- is kept as it is (each email carries it) rather than hashed.
ALTER TABLE case_reporters ADD COLUMN news_token TEXT;
ALTER TABLE case_reporters ADD COLUMN news_stopped_at TIMESTAMPTZ;
CREATE UNIQUE INDEX case_reporters_news_token ON case_reporters (news_token);

-- Answer templates per category, kept by administrators (`ykien templates import FILE.toml`): a title, the answer's
-- text with placeholders such as {ma_ho_so}, and the legal basis. The answer form of a case offers its category's.
CREATE TABLE answer_templates (
    id           UUID PRIMARY KEY,
    category     TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    legal_basis  TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX answer_templates_category ON answer_templates (category);
