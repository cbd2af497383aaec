-- The catalog in full (SPEC ENT-1, ENT-2): maintenance products, upgrade and upsell
-- relations; license model attributes and lifecycle policies.
ALTER TABLE products
    ADD COLUMN kind                text NOT NULL DEFAULT 'standard' CHECK (kind IN ('standard', 'maintenance')),
    ADD COLUMN maintained_products text[] NOT NULL DEFAULT '{}',
    ADD COLUMN upgrade_to          text[] NOT NULL DEFAULT '{}',
    ADD COLUMN upsell_to           text[] NOT NULL DEFAULT '{}',
    ADD COLUMN updated_at          timestamptz NOT NULL DEFAULT now();

ALTER TABLE license_models
    ADD COLUMN extra_activations bigint NOT NULL DEFAULT 0 CHECK (extra_activations >= 0),
    ADD COLUMN overdraft_allowed boolean NOT NULL DEFAULT false,
    ADD COLUMN defaults          jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN policies          jsonb NOT NULL DEFAULT '{}';
