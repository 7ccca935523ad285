-- Attachment bytes outside the database (issue 22, src/storage/files.rs): the file's name in the configured
-- directory or bucket (the SHA-256 of its bytes); NULL keeps the bytes in `bytes`, as every attachment stored
-- before this migration does. A row with a location stores an empty `bytes`.
ALTER TABLE attachments ADD COLUMN location TEXT;
