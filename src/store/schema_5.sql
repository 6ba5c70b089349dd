-- The knowledge base as trainers edit it: the current entries (FAQ entries, intents with their
-- examples) and every change as a revision (who, when, before and after).
CREATE TABLE kb_entries (
    kind TEXT NOT NULL,            -- faq | intent
    id TEXT NOT NULL,              -- the FAQ id or the intent name
    data TEXT NOT NULL,            -- the entry as JSON
    version INTEGER NOT NULL,      -- bumped by every change; edits name the version they start from
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE kb_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    version INTEGER NOT NULL,      -- the entry's version after this change
    action TEXT NOT NULL,          -- create | update | delete | revert | import
    author TEXT NOT NULL,
    at TEXT NOT NULL,
    before TEXT,                   -- JSON, NULL when the entry did not exist
    after TEXT                     -- JSON, NULL when it was deleted
);
CREATE INDEX kb_revisions_by_entry ON kb_revisions(kind, entry_id, id);
