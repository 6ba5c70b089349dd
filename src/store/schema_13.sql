-- Version 13: shoppers' rights and retention (issue 21, items 1 and 2). `erasures` records each
-- erasure of a shopper's data (who asked, when, what was anonymised) and is never purged: it
-- holds no personal data beyond the store's shopper id. A feedback record past its retention
-- period is anonymised once (`anonymised_at`), never deleted, so the statistics keep their counts.
CREATE TABLE erasures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shopper_id TEXT NOT NULL,
    erased_by TEXT NOT NULL,      -- the admin's login name, or `cli`
    erased_at TEXT NOT NULL,
    counts TEXT NOT NULL          -- JSON: rows anonymised or deleted, per kind
);
CREATE INDEX erasures_by_shopper ON erasures(shopper_id, id);
ALTER TABLE feedback ADD COLUMN anonymised_at TEXT;
CREATE INDEX feedback_to_anonymise ON feedback(updated_at) WHERE anonymised_at IS NULL;
