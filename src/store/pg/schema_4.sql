-- PostgreSQL version 4: shoppers' rights and retention (issue 21, items 1 and 2), as SQLite
-- migration 13. `erasures` records each erasure of a shopper's data (who asked, when, what was
-- anonymised) and is never purged. A feedback record past its retention period is anonymised
-- once (`anonymised_at`), never deleted, so the statistics keep their counts.
CREATE TABLE erasures (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shopper_id TEXT COLLATE "C" NOT NULL,
    erased_by TEXT COLLATE "C" NOT NULL,  -- the admin's login name, or `cli`
    erased_at TEXT COLLATE "C" NOT NULL,
    counts TEXT COLLATE "C" NOT NULL      -- JSON: rows anonymised or deleted, per kind
);
CREATE INDEX erasures_by_shopper ON erasures (shopper_id, id);
ALTER TABLE feedback ADD COLUMN anonymised_at TEXT COLLATE "C";
CREATE INDEX feedback_to_anonymise ON feedback (updated_at) WHERE anonymised_at IS NULL;
