-- Intent model versions trained while the service runs, shared by every node (issue 19): the
-- database is their source of truth, each node's `model_store` folder a cache of them.
-- A version's files (model.safetensors, config.json, tokenizer.json, metrics.json, meta.json)
-- are written with its row in one transaction: a version is complete or absent.
CREATE TABLE model_versions (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    who TEXT NOT NULL,
    meta TEXT,
    metrics TEXT,
    added_at TEXT NOT NULL
);

CREATE TABLE model_files (
    version TEXT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (version, name)
);

-- Every activation, override and rollback, oldest first: the last row names the version in
-- force (none: the shipped model).
CREATE TABLE model_activations (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('activate', 'override', 'rollback')),
    version TEXT NOT NULL,
    who TEXT NOT NULL
);
