-- Runners' own sync tokens, each revocable on its own (beside the shared
-- sync token of the settings). Only the SHA-256 of a secret is stored.
CREATE TABLE runner_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT NOT NULL DEFAULT 0
);
