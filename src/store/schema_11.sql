-- Version 11: an agent's message can be recalled within a short window (the transcript keeps it
-- for staff, marked with who recalled it and when; the shopper sees only that it was recalled),
-- and tickets can be answered: open -> answered -> closed. The answer is also stored as an agent
-- message in the ticket's conversation; `delivered_at` records when the shopper was shown it
-- (on their next visit), so it is shown once in a later conversation.
ALTER TABLE messages ADD COLUMN recalled_at TEXT;
ALTER TABLE messages ADD COLUMN recalled_by TEXT;
ALTER TABLE tickets ADD COLUMN answer TEXT;
ALTER TABLE tickets ADD COLUMN answered_by TEXT;
ALTER TABLE tickets ADD COLUMN answered_at TEXT;
ALTER TABLE tickets ADD COLUMN delivered_at TEXT;
CREATE INDEX tickets_answered_by_shopper ON tickets(shopper_id, status) WHERE delivered_at IS NULL;
