-- Cases filed on the web or through the API are followed on their tracking page: nothing is queued for them any
-- more. Rows an earlier version queued (and marked sent at once) are dropped.
DELETE FROM outbox WHERE channel IN ('web', 'api');
