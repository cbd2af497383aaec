-- An upgrade replaces several fulfillments at once (SPEC LIC-9).
ALTER TABLE activation_requests ADD COLUMN replaced_ids text[] NOT NULL DEFAULT '{}';
UPDATE activation_requests SET replaced_ids = ARRAY[replaced_id] WHERE replaced_id <> '';
