-- Secrets of Actions. A version records the secrets it reads (a JSON list
-- of {name, description}); values are per Action, sealed by envelope
-- encryption: each value under its own data key (AES-256-GCM, the row's
-- tenant, Action and name as associated data), the data key under the
-- operator's key, named by key_id so that a rotation can find every row
-- still sealed under an older key.
ALTER TABLE versions ADD COLUMN secrets TEXT NOT NULL DEFAULT '[]';
CREATE TABLE action_secrets (
    tenant_id TEXT NOT NULL,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    value_bytes BIGINT NOT NULL,
    set_by TEXT NOT NULL,
    set_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, slug, name),
    FOREIGN KEY (tenant_id, slug) REFERENCES actions (tenant_id, slug)
);
CREATE INDEX action_secrets_by_key ON action_secrets (key_id);
-- Every operator key a control plane was given, by id: a replica started
-- with none of them refuses to start, even before any secret is stored.
CREATE TABLE secrets_keys_seen (
    key_id TEXT PRIMARY KEY,
    first_seen_at_ms BIGINT NOT NULL
);
