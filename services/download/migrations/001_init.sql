CREATE TABLE packages (
    tenant_id    text NOT NULL,
    id           text NOT NULL,
    display_name text NOT NULL,
    product_id   text NOT NULL,
    request_id   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX packages_request ON packages (tenant_id, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE files (
    tenant_id  text NOT NULL,
    package_id text NOT NULL,
    id         text NOT NULL,
    filename   text NOT NULL,
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    sha256     text NOT NULL,
    blob_key   text NOT NULL,
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, package_id, id),
    UNIQUE (tenant_id, package_id, filename),
    FOREIGN KEY (tenant_id, package_id) REFERENCES packages (tenant_id, id)
);
CREATE UNIQUE INDEX files_request ON files (tenant_id, request_id) WHERE request_id IS NOT NULL;

-- Every download (or range of one) served, for the download log.
CREATE TABLE download_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   text NOT NULL,
    package_id  text NOT NULL,
    file_id     text NOT NULL,
    user_id     text NOT NULL,
    byte_offset bigint NOT NULL,
    byte_length bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX download_log_file ON download_log (tenant_id, package_id, file_id);
