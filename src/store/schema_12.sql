-- Version 12: photos shoppers send (issue 17, shopper item 7). An image is uploaded into a
-- conversation first (`message_id` NULL), then sent as a shopper message that refers to it
-- (`message_id` set, once). `content_type` is what the bytes were sniffed as, never what the
-- client said. The bytes live in `image_data`, apart, so counting and listing never read them.
CREATE TABLE images (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    content_type TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    message_id INTEGER REFERENCES messages(id),
    created_at TEXT NOT NULL
);
CREATE INDEX images_by_conversation ON images(conversation_id, created_at);
CREATE TABLE image_data (
    id TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    data BLOB NOT NULL
);
