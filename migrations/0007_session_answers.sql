-- The answers of a response in progress travel with its survey session (JSON `[[question, code, text], …]`), so
-- that one read gives a respondent's whole survey state instead of the session and then every answer so far at each
-- turn. `answers` still receives each answer as it is given, in the same transaction.
-- NULL for sessions started before this migration: their answers are read from `answers` until their next step
-- fills the column (SQLite and PostgreSQL share no JSON aggregate to fill it here).
ALTER TABLE survey_sessions ADD COLUMN answers TEXT;
