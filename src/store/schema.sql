-- Version 1 of the kefu schema. Migrations run in order; PRAGMA user_version records the last.
CREATE TABLE shoppers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    tier TEXT NOT NULL,
    vip INTEGER NOT NULL,
    lang TEXT NOT NULL
);
CREATE TABLE orders (
    order_no TEXT PRIMARY KEY,
    shopper_id TEXT NOT NULL REFERENCES shoppers(id),
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL            -- the order as JSON (items, tracking, address, return …)
);
CREATE INDEX orders_by_shopper ON orders(shopper_id, created_at);
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    shopper_id TEXT,              -- NULL for guests
    lang TEXT NOT NULL,
    state TEXT NOT NULL,          -- bot | waiting_agent | agent | closed
    started_at TEXT NOT NULL,
    ended_at TEXT,
    escalation_reason TEXT
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    client_msg_id TEXT,           -- the shopper client's id, to store a re-sent message once
    sender TEXT NOT NULL,         -- shopper | bot | agent | system
    text TEXT NOT NULL,
    meta TEXT,                    -- JSON: intent, confidence, faq_id, flow …
    created_at TEXT NOT NULL,
    UNIQUE (conversation_id, client_msg_id)
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
CREATE TABLE returns (
    id TEXT PRIMARY KEY,
    order_no TEXT NOT NULL REFERENCES orders(order_no),
    conversation_id TEXT,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,         -- requested | in_transit | received | refunded
    created_at TEXT NOT NULL
);
CREATE TABLE feedback (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
    record TEXT NOT NULL,         -- the feedback record as JSON
    rating INTEGER,
    comment TEXT,
    updated_at TEXT NOT NULL
);
