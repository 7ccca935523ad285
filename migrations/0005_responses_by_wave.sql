-- Exports and the dashboard read a wave's complete responses in id order, a page at a time: this index serves
-- each page directly (wave, then id after the cursor) instead of sorting the whole wave again for every page.
CREATE INDEX responses_wave_id ON responses (wave_id, id);
