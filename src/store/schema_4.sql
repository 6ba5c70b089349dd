-- Version 4: the trainers' review queue. One row per decision a trainer made about a group of
-- shopper questions the bot did not resolve: dismissed, or resolved by a knowledge-base change.
CREATE TABLE review_dismissals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,             -- the group's key (hash of its representative's normalised text)
    text TEXT NOT NULL,            -- the representative, normalised: near-duplicates match against it
    lang TEXT NOT NULL,            -- zh | en
    action TEXT NOT NULL,          -- dismiss | phrasing | faq | intent
    target TEXT,                   -- the FAQ id or intent a resolution is about
    decided_by TEXT NOT NULL,      -- the trainer's login name
    decided_at TEXT NOT NULL
);
CREATE INDEX review_dismissals_by_key ON review_dismissals(key);
