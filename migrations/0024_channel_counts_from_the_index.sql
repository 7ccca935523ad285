-- The commune page counts the commune's complete responses per channel on every view (`Store::channel_counts`).
-- With the channel in the (wave, unit, complete) index both engines count from the index alone instead of reading
-- each response's row (issue 17: 37 ms against 4 ms on SQLite for a commune of 9,600 responses).
DROP INDEX responses_wave_unit;
CREATE INDEX responses_wave_unit ON responses (wave_id, unit_id, complete, channel);
