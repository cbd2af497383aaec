-- Lifecycle operations (SPEC LIC-8): every fulfillment knows the first of its
-- lineage, which per-period policy limits count over; requests remember what they
-- replaced, for retries.
ALTER TABLE fulfillments ADD COLUMN root_id text NOT NULL DEFAULT '';
UPDATE fulfillments SET root_id = id WHERE root_id = '';
CREATE INDEX fulfillments_lineage ON fulfillments (tenant_id, root_id, support_type);
CREATE INDEX fulfillments_claim ON fulfillments (tenant_id, claim_id) WHERE support_type = 'master';
ALTER TABLE activation_requests ADD COLUMN replaced_id text NOT NULL DEFAULT '';
