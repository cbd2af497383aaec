-- ECDSA P-256 signing keys beside Ed25519, and each fulfillment's signed JSON form
-- (SPEC LIC-5).
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_algorithm_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_algorithm_check CHECK (algorithm IN ('ed25519', 'es256'));
ALTER TABLE signing_keys ADD COLUMN retired_at timestamptz;
ALTER TABLE fulfillments ADD COLUMN license_json text NOT NULL DEFAULT '';
