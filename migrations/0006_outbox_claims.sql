-- Which claim holds an outbox message. A worker renews its claim just before sending and marks the message sent or
-- failed only while the claim is still its own, so that an instance whose claim ran out (a slow platform, a pause)
-- neither sends a message another instance has taken over nor overwrites that instance's outcome.
ALTER TABLE outbox ADD COLUMN claimed_by UUID;
