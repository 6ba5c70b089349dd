-- Version 8: revocable staff tokens and the failed-login table (issue 15).
-- token_gen: staff tokens carry it; a password change, a role change or a removal raises it,
-- which ends every token issued before. A removed account keeps its row (handoffs and notes
-- name it) with removed_at set and no password hash; adding the name again raises token_gen
-- once more, so the old tokens stay dead.
ALTER TABLE users ADD COLUMN token_gen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN removed_at TEXT;
-- Failed logins per name (known or not), counted before the password is checked, so the lockout
-- is one atomic step and survives a restart. Rows expire after the lockout period and the table
-- has a row cap (see accounts::LoginLimits).
CREATE TABLE login_failures (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    updated_at INTEGER NOT NULL   -- Unix seconds of the last failure counted
);
CREATE INDEX login_failures_by_time ON login_failures(updated_at);
