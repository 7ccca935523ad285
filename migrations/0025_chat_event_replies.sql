-- A survey step taken from a webhook is stored in one transaction with its event (issue 15: one commit per update
-- instead of a record before the turn and the turn after it). The replies the turn decided are kept with the event
-- until they are sent, so that an instance that dies between the commit and the sending leaves them to be sent
-- by recovery instead of a turn to take again. NULL for an event recorded ahead of its turn.
ALTER TABLE chat_events ADD COLUMN replies TEXT;
