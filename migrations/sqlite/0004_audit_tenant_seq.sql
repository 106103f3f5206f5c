-- Each tenant's audit events numbered 1, 2, 3, … on their own: the global
-- `seq` shown to tenants told them how many events every other tenant had
-- between two of their own. `seq` stays the order and the page position.
ALTER TABLE audit_events ADD COLUMN tenant_seq BIGINT NOT NULL DEFAULT 0;
UPDATE audit_events SET tenant_seq = (
    SELECT COUNT(*) FROM audit_events earlier
    WHERE earlier.tenant_id = audit_events.tenant_id AND earlier.seq <= audit_events.seq
);
-- The last number given to each tenant; taking the next one locks the
-- tenant's row, so concurrent writers of one tenant never share a number.
CREATE TABLE audit_counters (
    tenant_id TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
INSERT INTO audit_counters (tenant_id, last_seq)
    SELECT tenant_id, MAX(tenant_seq) FROM audit_events GROUP BY tenant_id;
