-- Tenants, and the tokens their developers and tools call with (hashed).
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE actions (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, slug)
);

-- Compiled modules by content hash; runners fetch them by hash.
CREATE TABLE modules (
    sha256 TEXT PRIMARY KEY,
    plugin_id TEXT NOT NULL,
    wasm BLOB NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- Immutable versions: source, generated JavaScript and module hash.
CREATE TABLE versions (
    tenant_id TEXT NOT NULL,
    slug TEXT NOT NULL,
    version TEXT NOT NULL,
    major BIGINT NOT NULL,
    minor BIGINT NOT NULL,
    patch BIGINT NOT NULL,
    triggers TEXT NOT NULL,
    config_schema TEXT NOT NULL,
    source TEXT NOT NULL,
    javascript TEXT NOT NULL,
    module_sha256 TEXT NOT NULL REFERENCES modules (sha256),
    created_at_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    published_at_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, slug, version),
    FOREIGN KEY (tenant_id, slug) REFERENCES actions (tenant_id, slug)
);

-- The live version of each major of an Action: what bindings of that major run.
CREATE TABLE live_versions (
    tenant_id TEXT NOT NULL,
    slug TEXT NOT NULL,
    major BIGINT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (tenant_id, slug, major),
    FOREIGN KEY (tenant_id, slug, version) REFERENCES versions (tenant_id, slug, version)
);

CREATE TABLE bindings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    position BIGINT NOT NULL,
    action_slug TEXT NOT NULL,
    major BIGINT NOT NULL,
    config TEXT NOT NULL,
    fail_open BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, action_slug) REFERENCES actions (tenant_id, slug)
);
CREATE INDEX bindings_by_slot ON bindings (tenant_id, trigger_name, position);

-- One row: the revision of the flows. Every change to what runners run bumps
-- it in the transaction that makes the change, which also serialises those
-- transactions, so revisions are committed in order.
CREATE TABLE config_revision (
    id BIGINT PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO config_revision (id, revision) VALUES (1, 0);

-- Which tenant each revision changed: the catch-up cursor of WatchFlows.
CREATE TABLE flow_changes (
    revision BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL
);

CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX audit_by_tenant ON audit_events (tenant_id, seq);

-- Run records from the runners, stored once per run id; `record` is the
-- protobuf RunRecord as received.
CREATE TABLE runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    flow TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    decision TEXT NOT NULL,
    test BIGINT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX runs_by_tenant ON runs (tenant_id, seq);

CREATE TABLE run_bindings (
    run_seq BIGINT NOT NULL,
    tenant_id TEXT NOT NULL,
    action_slug TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX run_bindings_by_action ON run_bindings (tenant_id, action_slug, run_seq);
CREATE INDEX run_bindings_by_outcome ON run_bindings (tenant_id, outcome, run_seq);
