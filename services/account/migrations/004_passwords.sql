-- Temporary passwords and self-service resets (SPEC ACC-8).
ALTER TABLE users
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
    ADD COLUMN secret_question      text NOT NULL DEFAULT '',
    ADD COLUMN secret_answer_hash   text NOT NULL DEFAULT '';
