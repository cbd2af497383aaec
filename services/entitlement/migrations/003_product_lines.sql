-- Product lines group products (SPEC ENT-1); users may be limited to theirs (ACC-16).
CREATE TABLE product_lines (
    tenant_id    text NOT NULL,
    id           text NOT NULL,
    display_name text NOT NULL,
    description  text NOT NULL DEFAULT '',
    request_id   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX product_lines_request ON product_lines (tenant_id, request_id) WHERE request_id IS NOT NULL;

ALTER TABLE products ADD COLUMN product_line_id text;
ALTER TABLE products ADD FOREIGN KEY (tenant_id, product_line_id) REFERENCES product_lines (tenant_id, id);
