//! The append-only audit trail: one row per change, written in the
//! transaction that makes the change.

use super::sql;
use super::{Counted, Store, now_ms};
use crate::Error;

/// A change to record.
pub struct AuditEntry<'a> {
    /// Whose data changed.
    pub tenant: &'a str,
    /// e.g. `flow.action_published`.
    pub kind: &'a str,
    /// The name of the token that made the change.
    pub actor: &'a str,
    /// What changed, e.g. `domain-allowlist@1.0.2`.
    pub subject: &'a str,
    /// Details, never a secret.
    pub details: serde_json::Value,
}

/// An audit event as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredAuditEvent {
    /// Its place in the trail (across tenants): order and page position,
    /// never shown to a tenant.
    pub seq: i64,
    /// Its number among its tenant's events (1, 2, 3, …): what tenants see.
    pub tenant_seq: i64,
    /// Whose.
    pub tenant_id: String,
    /// What kind of change.
    pub kind: String,
    /// Who.
    pub actor: String,
    /// What.
    pub subject: String,
    /// Details, JSON.
    pub details: String,
    /// When.
    pub at_ms: i64,
}

/// Appends `entry` in the caller's transaction.
pub(crate) async fn append(
    mut db: Counted<'_, &mut sqlx::AnyConnection>,
    entry: AuditEntry<'_>,
) -> Result<(), Error> {
    let tenant_seq: i64 = sqlx::query_scalar(
        "INSERT INTO audit_counters (tenant_id, last_seq) VALUES ($1, 1) \
         ON CONFLICT (tenant_id) DO UPDATE SET last_seq = audit_counters.last_seq + 1 \
         RETURNING last_seq",
    )
    .bind(entry.tenant)
    .fetch_one(db.again())
    .await?;
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, kind, actor, subject, details, at_ms, tenant_seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.tenant)
    .bind(entry.kind)
    .bind(entry.actor)
    .bind(entry.subject)
    .bind(entry.details.to_string())
    .bind(now_ms())
    .bind(tenant_seq)
    .execute(db)
    .await?;
    Ok(())
}

const COLUMNS: &str = "seq, tenant_seq, tenant_id, kind, actor, subject, details, at_ms";

impl Store {
    /// A tenant's audit events, newest first, before `before_seq` (0: from
    /// the newest), of `kind` only and about the Action `action` only when
    /// given. An event is about an Action when its subject is the slug or
    /// `slug@version`, or its details name it as `"action"` (bindings).
    /// `action` must be a valid slug: its characters are no LIKE wildcards.
    pub async fn audit_events(
        &self,
        tenant: &str,
        kind: Option<&str>,
        action: Option<&str>,
        before_seq: i64,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, Error> {
        let before = if before_seq <= 0 {
            i64::MAX
        } else {
            before_seq
        };
        let action = action.unwrap_or("");
        let rows = sqlx::query_as(sql(format!(
            "SELECT {COLUMNS} FROM audit_events WHERE tenant_id = $1 AND seq < $2 \
             AND ($3 = '' OR kind = $3) \
             AND ($4 = '' OR subject = $4 OR subject LIKE $5 OR details LIKE $6) \
             ORDER BY seq DESC LIMIT $7"
        )))
        .bind(tenant)
        .bind(before)
        .bind(kind.unwrap_or(""))
        .bind(action)
        .bind(format!("{action}@%"))
        .bind(format!("%\"action\":\"{action}\"%"))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    /// A tenant's audit events after `after_seq`, oldest first: the tail.
    pub async fn audit_events_after(
        &self,
        tenant: &str,
        after_seq: i64,
    ) -> Result<Vec<StoredAuditEvent>, Error> {
        let rows = sqlx::query_as(sql(format!(
            "SELECT {COLUMNS} FROM audit_events WHERE tenant_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT 500"
        )))
        .bind(tenant)
        .bind(after_seq)
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    /// The newest audit sequence number (0 when there is none).
    pub async fn last_audit_seq(&self) -> Result<i64, Error> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
            .fetch_one(self.pool())
            .await?;
        Ok(seq.unwrap_or(0))
    }
}
