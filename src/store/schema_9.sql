-- Version 9: an idempotency key per return request. The order source's create_return takes
-- one, so a create repeated after a timeout or a re-sent confirmation is answered with the
-- return the first one opened, never a second return. Older rows have none.
ALTER TABLE returns ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX returns_by_idempotency_key ON returns(idempotency_key) WHERE idempotency_key IS NOT NULL;
