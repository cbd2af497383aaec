-- Activations are found by request through activation_requests; nothing reads
-- fulfillments by request ID, so its index only cost every fulfillment an insert.
DROP INDEX fulfillments_request;
