-- The rest of a user's profile (SPEC ACC-5).
ALTER TABLE users
    ADD COLUMN phone            text NOT NULL DEFAULT '',
    ADD COLUMN fax              text NOT NULL DEFAULT '',
    ADD COLUMN address          jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN time_zone        text NOT NULL DEFAULT '',
    ADD COLUMN locale           text NOT NULL DEFAULT '',
    ADD COLUMN marketing_opt_in boolean NOT NULL DEFAULT false,
    ADD COLUMN expiring_email   boolean NOT NULL DEFAULT false,
    ADD COLUMN can_login        boolean NOT NULL DEFAULT true;
