-- Line item types and upgrade/upsell/renewal chains (SPEC ENT-4). A line item is
-- superseded at most once, so every chain is a line.
ALTER TABLE line_items
    ADD COLUMN line_type  text NOT NULL DEFAULT 'standard'
        CHECK (line_type IN ('standard', 'upgrade', 'upsell', 'renewal', 'maintenance', 'subscription')),
    ADD COLUMN supersedes text;
CREATE UNIQUE INDEX line_items_supersedes ON line_items (tenant_id, supersedes) WHERE supersedes IS NOT NULL;
CREATE INDEX line_items_account ON line_items (tenant_id, account_id, activation_id);
