-- Seats beyond the quantity (SPEC ENT-2, ENT-5): a line item takes its model's extra
-- activations and overdraft permission when it is created. available = quantity +
-- extra - fulfilled; seats past that, where overdraft is allowed, are overdraft.
ALTER TABLE line_items
    ADD COLUMN extra_activations bigint NOT NULL DEFAULT 0 CHECK (extra_activations >= 0),
    ADD COLUMN overdraft_allowed boolean NOT NULL DEFAULT false;
ALTER TABLE line_items DROP CONSTRAINT line_items_seats;
ALTER TABLE line_items ADD CONSTRAINT line_items_seats
    CHECK (fulfilled >= 0 AND (overdraft_allowed OR quantity = 0 OR fulfilled <= quantity + extra_activations));
