-- Version 6: the bot's dialogue memory per conversation (what it last listed, what is in focus,
-- the question a flow is waiting on), as the dialogue module's JSON, written with each bot turn,
-- so a resume, even after a restart, continues a half-finished flow.
ALTER TABLE conversations ADD COLUMN dialogue TEXT;
