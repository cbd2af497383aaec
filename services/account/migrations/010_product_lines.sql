-- Product lines linked to a user (SPEC ACC-16): when any are, the user sees only line
-- items of products in them.
ALTER TABLE users ADD COLUMN product_lines text[] NOT NULL DEFAULT '{}';
