-- PostgreSQL version 2: every remaining SQLite table as of SQLite migration 12, so that all the
-- aggregates can live in PostgreSQL: shoppers and their orders (SQLite 1), conversations with
-- the bot's dialogue memory (1 + 3 + 6), messages with recall (1 + 11), returns with their
-- idempotency key (1 + 9), feedback records (1), handoffs, notes and tickets with answers
-- (3 + 11), wrong phone-digit guesses (7), the webhook outbox (10) and shoppers' photos (12).
-- Same table, column and index names as SQLite; times are the same ISO-8601 UTC text
-- (`store::now`), JSON is text, SQLite's INTEGER is BIGINT (integer ids: identity columns),
-- BLOB is BYTEA. Partial indexes where SQLite has them. Text columns compare and sort byte-wise
-- (COLLATE "C", SQLite's BINARY) whatever the database's locale, so times and ids order as there.
CREATE TABLE shoppers (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    phone TEXT COLLATE "C" NOT NULL,
    tier TEXT COLLATE "C" NOT NULL,
    vip BIGINT NOT NULL,  -- 0 | 1, as in SQLite
    lang TEXT COLLATE "C" NOT NULL
);
CREATE TABLE orders (
    order_no TEXT COLLATE "C" PRIMARY KEY,
    shopper_id TEXT COLLATE "C" NOT NULL REFERENCES shoppers (id),
    created_at TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    data TEXT COLLATE "C" NOT NULL  -- the order as JSON
);
CREATE INDEX orders_by_shopper ON orders (shopper_id, created_at);
CREATE TABLE conversations (
    id TEXT COLLATE "C" PRIMARY KEY,
    shopper_id TEXT COLLATE "C",  -- NULL for guests
    lang TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,  -- bot | waiting_agent | agent | closed
    started_at TEXT COLLATE "C" NOT NULL,
    ended_at TEXT COLLATE "C",
    escalation_reason TEXT COLLATE "C",
    dialogue TEXT COLLATE "C"  -- the dialogue module's JSON
);
CREATE INDEX conversations_by_shopper ON conversations (shopper_id, started_at);
CREATE TABLE messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    client_msg_id TEXT COLLATE "C",  -- the shopper client's id, to store a re-sent message once
    sender TEXT COLLATE "C" NOT NULL,  -- shopper | bot | agent | system
    text TEXT COLLATE "C" NOT NULL,
    meta TEXT COLLATE "C",  -- JSON: intent, confidence, faq_id, flow …
    created_at TEXT COLLATE "C" NOT NULL,
    recalled_at TEXT COLLATE "C",
    recalled_by TEXT COLLATE "C",
    UNIQUE (conversation_id, client_msg_id)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
CREATE TABLE returns (
    id TEXT COLLATE "C" PRIMARY KEY,
    order_no TEXT COLLATE "C" NOT NULL REFERENCES orders (order_no),
    conversation_id TEXT COLLATE "C",
    reason TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,  -- requested | in_transit | received | refunded
    created_at TEXT COLLATE "C" NOT NULL,
    idempotency_key TEXT COLLATE "C"
);
CREATE UNIQUE INDEX returns_by_idempotency_key ON returns (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TABLE feedback (
    conversation_id TEXT COLLATE "C" PRIMARY KEY REFERENCES conversations (id),
    record TEXT COLLATE "C" NOT NULL,  -- the feedback record as JSON
    rating BIGINT,
    comment TEXT COLLATE "C",
    updated_at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE handoffs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    reason TEXT COLLATE "C" NOT NULL,
    context TEXT COLLATE "C" NOT NULL,  -- JSON: what the bot knew
    queued_at TEXT COLLATE "C" NOT NULL,
    agent TEXT COLLATE "C" REFERENCES users (name),
    assigned_at TEXT COLLATE "C",
    first_response_at TEXT COLLATE "C",
    ended_at TEXT COLLATE "C",
    outcome TEXT COLLATE "C"  -- resolved | handed_back | transferred | requeued | shopper_ended
);
CREATE INDEX handoffs_by_conversation ON handoffs (conversation_id, id);
CREATE INDEX handoffs_open ON handoffs (ended_at) WHERE ended_at IS NULL;
CREATE TABLE notes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    agent TEXT COLLATE "C" NOT NULL REFERENCES users (name),
    text TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX notes_by_conversation ON notes (conversation_id, id);
CREATE TABLE tickets (
    id TEXT COLLATE "C" PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    shopper_id TEXT COLLATE "C",
    lang TEXT COLLATE "C" NOT NULL,
    text TEXT COLLATE "C" NOT NULL,
    contact TEXT COLLATE "C",
    status TEXT COLLATE "C" NOT NULL,  -- open | answered | closed
    created_at TEXT COLLATE "C" NOT NULL,
    closed_by TEXT COLLATE "C",
    closed_at TEXT COLLATE "C",
    answer TEXT COLLATE "C",
    answered_by TEXT COLLATE "C",
    answered_at TEXT COLLATE "C",
    delivered_at TEXT COLLATE "C"
);
CREATE INDEX tickets_by_status ON tickets (status, created_at);
CREATE INDEX tickets_answered_by_shopper ON tickets (shopper_id, status) WHERE delivered_at IS NULL;
CREATE TABLE phone_guesses (
    order_no TEXT COLLATE "C" PRIMARY KEY,
    wrong BIGINT NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE webhook_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    kind TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL,  -- the exact JSON sent
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX webhook_events_by_time ON webhook_events (created_at);
CREATE TABLE webhook_endpoints (
    url TEXT COLLATE "C" PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    first_seen TEXT COLLATE "C" NOT NULL
);
CREATE TABLE webhook_deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_seq BIGINT NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
    endpoint TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,  -- pending | delivered | failed
    attempts BIGINT NOT NULL DEFAULT 0,
    since_ms BIGINT NOT NULL,
    next_attempt_ms BIGINT,
    last_attempt_at TEXT COLLATE "C",
    last_status BIGINT,
    last_error TEXT COLLATE "C",
    delivered_at TEXT COLLATE "C",
    created_at TEXT COLLATE "C" NOT NULL,
    UNIQUE (event_seq, endpoint)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint, id);
CREATE TABLE images (
    id TEXT COLLATE "C" PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    content_type TEXT COLLATE "C" NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT COLLATE "C" NOT NULL,
    message_id BIGINT REFERENCES messages (id),
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX images_by_conversation ON images (conversation_id, created_at);
CREATE TABLE image_data (
    id TEXT COLLATE "C" PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    data BYTEA NOT NULL
);
