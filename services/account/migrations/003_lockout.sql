-- Lockout after consecutive wrong passwords (SPEC ACC-9) and shared logins (ACC-5).
ALTER TABLE users
    ADD COLUMN failed_logins int NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    ADD COLUMN locked_at     timestamptz,
    ADD COLUMN shared_login  boolean NOT NULL DEFAULT false;
