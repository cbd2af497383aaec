-- The opt-in daily digest of expiring entitlements (SPEC ENT-9) rides on the scheduled
-- emails: one row per user and day, planned once however many workers run.
ALTER TABLE scheduled_emails DROP CONSTRAINT scheduled_emails_kind_check;
ALTER TABLE scheduled_emails ADD CONSTRAINT scheduled_emails_kind_check CHECK (kind IN ('account_created', 'expiring_digest'));
ALTER TABLE scheduled_emails ADD COLUMN digest_day date;
CREATE UNIQUE INDEX scheduled_emails_digest ON scheduled_emails (tenant_id, user_id, digest_day) WHERE kind = 'expiring_digest';
