-- A consolidated license is retired when one of its members is replaced (returned,
-- repaired, rehosted, upgraded, transferred): its file no longer matches the
-- fulfillments, and its remaining members may be consolidated again.
ALTER TABLE consolidated_licenses ADD COLUMN retired_at timestamptz;
