-- A consolidated license lists its members by consolidated_id. Only consolidated
-- fulfillments are indexed, so the many that are not cost nothing more.
CREATE INDEX fulfillments_consolidated ON fulfillments (tenant_id, consolidated_id) WHERE consolidated_id IS NOT NULL;
