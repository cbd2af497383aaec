-- Splitting a bulk entitlement's keys to another retailer (SPEC ENT-8).
ALTER TABLE bulk_entitlements ADD COLUMN split_from text NOT NULL DEFAULT '';
