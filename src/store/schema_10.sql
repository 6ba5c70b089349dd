-- Version 10: the outbound webhooks' outbox. An event is written in the same transaction as the
-- state change it describes (its body is the exact JSON sent, so every retry sends the same
-- bytes); the delivery worker fans it out into one delivery per configured endpoint whose
-- events it wants, and records every attempt. An endpoint sees the events written after it was
-- first configured (`last_seq`: the newest event already fanned out to it).
CREATE TABLE webhook_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX webhook_events_by_time ON webhook_events(created_at);

CREATE TABLE webhook_endpoints (
    url TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    first_seen TEXT NOT NULL
);

-- status: pending (to send at next_attempt_ms), delivered (a 2xx came back; never sent again),
-- failed (gave up: attempts or age exhausted; an admin may replay it)
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    event_seq INTEGER NOT NULL REFERENCES webhook_events(seq) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    since_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER,
    last_attempt_at TEXT,
    last_status INTEGER,
    last_error TEXT,
    delivered_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (event_seq, endpoint)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_ms);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries(endpoint, id);
