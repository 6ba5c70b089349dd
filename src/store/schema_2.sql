-- Version 2: staff accounts and server settings.
CREATE TABLE users (
    name TEXT PRIMARY KEY,        -- the login name
    display_name TEXT NOT NULL,   -- what shoppers see ("Li")
    role TEXT NOT NULL,           -- agent | trainer | admin
    password_hash TEXT NOT NULL,  -- argon2id PHC string
    created_at TEXT NOT NULL
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL           -- e.g. staff_token_secret, generated on first start
);
