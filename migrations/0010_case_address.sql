-- Where a reported problem is, as the citizen typed it (a chat's location step takes an address instead of a shared
-- location; e.g. "Tổ 5, đường Nguyễn Văn Linh"). NULL when none was given.
ALTER TABLE cases ADD COLUMN address TEXT;
