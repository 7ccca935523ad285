-- A split questionnaire (issue 21): a wave may ask each respondent the profile questions and only
-- `modules_per_respondent` of the questionnaire's sub-dimensions, drawn per respondent; NULL asks everything.
ALTER TABLE waves ADD COLUMN modules_per_respondent BIGINT;
-- The sub-dimensions a response was asked (codes, comma-separated, in questionnaire order); NULL: all of them.
ALTER TABLE responses ADD COLUMN modules TEXT;
