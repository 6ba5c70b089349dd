-- Version 7: wrong phone-digit guesses per order (guests prove an order with the last four
-- digits of its phone). In the store, so the lockout is one atomic step with the check and
-- survives a restart.
CREATE TABLE phone_guesses (
    order_no TEXT PRIMARY KEY,
    wrong INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
