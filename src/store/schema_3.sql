-- Version 3: human agents. Handoffs (one row per time a conversation is queued for a person),
-- internal notes, canned responses and tickets left when nobody is available.
CREATE TABLE handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    reason TEXT NOT NULL,          -- requested | complaint | unresolved | angry | transfer | …
    context TEXT NOT NULL,         -- JSON: what the bot knew (intents, orders, returns, faq ids)
    queued_at TEXT NOT NULL,
    agent TEXT REFERENCES users(name),
    assigned_at TEXT,
    first_response_at TEXT,
    ended_at TEXT,
    outcome TEXT                   -- resolved | handed_back | transferred | requeued | shopper_ended
);
CREATE INDEX handoffs_by_conversation ON handoffs(conversation_id, id);
CREATE INDEX handoffs_open ON handoffs(ended_at) WHERE ended_at IS NULL;
CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    agent TEXT NOT NULL REFERENCES users(name),
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notes_by_conversation ON notes(conversation_id, id);
CREATE TABLE canned_responses (
    id TEXT PRIMARY KEY,           -- e.g. greeting-zh
    lang TEXT NOT NULL,            -- zh | en
    title TEXT NOT NULL,           -- the shortcut agents pick it by
    text TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    updated_by TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    shopper_id TEXT,
    lang TEXT NOT NULL,
    text TEXT NOT NULL,
    contact TEXT,
    status TEXT NOT NULL,          -- open | closed
    created_at TEXT NOT NULL,
    closed_by TEXT,
    closed_at TEXT
);
CREATE INDEX tickets_by_status ON tickets(status, created_at);
CREATE INDEX conversations_by_shopper ON conversations(shopper_id, started_at);
