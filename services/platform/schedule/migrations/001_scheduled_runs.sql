-- Durable runs of daily jobs: one row per job and day. A replica takes a day by
-- inserting its row, or by taking over one whose lease ran out (its replica died,
-- or the run failed and waits for its retry); done rows are never run again.
CREATE TABLE scheduled_runs (
    job         text NOT NULL,
    run_date    date NOT NULL,
    state       text NOT NULL CHECK (state IN ('running', 'failed', 'done')),
    -- The scheduler that holds or last held the run.
    owner       text NOT NULL,
    attempts    int NOT NULL DEFAULT 1,
    started_at  timestamptz NOT NULL,
    -- Until when the owner holds a running row; when a failed row may be retried.
    lease_until timestamptz NOT NULL,
    finished_at timestamptz,
    last_error  text NOT NULL DEFAULT '',
    PRIMARY KEY (job, run_date)
);
