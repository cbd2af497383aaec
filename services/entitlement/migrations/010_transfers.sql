-- Transfers awaiting a producer's approval (SPEC ENT-7): the account they came from.
ALTER TABLE line_items ADD COLUMN transfer_from text;
