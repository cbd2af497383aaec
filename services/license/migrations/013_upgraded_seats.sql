-- Seats a fulfillment gave to an upgrade, upsell or renewal. They stay consumed on
-- its line item under its seat claim (the copies moved, the purchase did not grow),
-- so a later return of what it kept gives back only what is still there. Indexed
-- by claim for the few fulfillments that have any.
ALTER TABLE fulfillments ADD COLUMN upgraded_seats bigint NOT NULL DEFAULT 0 CHECK (upgraded_seats >= 0);
CREATE INDEX fulfillments_upgraded_of_claim ON fulfillments (tenant_id, claim_id) WHERE upgraded_seats > 0;
