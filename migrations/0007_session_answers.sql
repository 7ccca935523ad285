-- The answers of a response in progress travel with its survey session, so that one read gives a respondent's whole
-- survey state instead of the session and then every answer so far at each turn. JSON
-- `{"revision": n, "answers": [[question, code, text], …]}`; the table `answers` still receives each answer as it is
-- given, in the same transaction.
-- NULL for sessions started before this migration, and `revision` behind the session's when an older binary moved it
-- during a rolling upgrade: then the answers are read from `answers`, until the session's next step writes them here
-- (SQLite and PostgreSQL share no JSON aggregate to fill the column in this file).
ALTER TABLE survey_sessions ADD COLUMN answers TEXT;
