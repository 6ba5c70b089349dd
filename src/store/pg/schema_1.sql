-- PostgreSQL version 1: what the first PostgreSQL slice implements (AccountStore, KnowledgeStore),
-- mirroring the SQLite tables as of SQLite migration 12: staff accounts with token generations
-- (SQLite 2 + 8), settings (2), failed logins (8), canned responses (3), review decisions (4),
-- the live knowledge base (5). Times are the same ISO-8601 UTC text as in SQLite (`store::now`),
-- JSON is text: rows read back exactly as on SQLite. The other aggregates' tables come in later
-- PostgreSQL migrations (own numbering; `schema_version` records them).
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,                  -- agent | trainer | admin
    password_hash TEXT NOT NULL,         -- argon2id PHC string ('' once removed)
    created_at TEXT NOT NULL,
    token_gen BIGINT NOT NULL DEFAULT 0, -- raised by a password or role change and a removal
    removed_at TEXT
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE login_failures (
    name TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    updated_at BIGINT NOT NULL           -- Unix seconds of the last failure counted
);
CREATE INDEX login_failures_by_time ON login_failures (updated_at);
CREATE TABLE canned_responses (
    id TEXT PRIMARY KEY,
    lang TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    updated_by TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE review_dismissals (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT NOT NULL,
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    action TEXT NOT NULL,                -- dismiss | phrasing | faq | intent
    target TEXT,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE INDEX review_dismissals_by_key ON review_dismissals (key);
CREATE TABLE kb_entries (
    kind TEXT NOT NULL,                  -- faq | intent
    id TEXT NOT NULL,
    data TEXT NOT NULL,                  -- the entry as JSON
    version BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE kb_revisions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    action TEXT NOT NULL,                -- create | update | delete | revert | import
    author TEXT NOT NULL,
    at TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX kb_revisions_by_entry ON kb_revisions (kind, entry_id, id);
