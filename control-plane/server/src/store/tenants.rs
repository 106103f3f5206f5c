//! Tenants and their tokens. Only the SHA-256 of a token's secret is stored.

use super::audit::{AuditEntry, append};
use super::sql;
use super::{Store, now_ms};
use crate::Error;

/// A tenant as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredTenant {
    /// URL-safe id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// When it was created.
    pub created_at_ms: i64,
}

/// A token as stored (without its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredToken {
    /// Public id, `tok_...`.
    pub id: String,
    /// Whose.
    pub tenant_id: String,
    /// What it is for.
    pub name: String,
    /// When it was created.
    pub created_at_ms: i64,
    /// 0 while valid.
    pub revoked_at_ms: i64,
}

const TOKEN_COLUMNS: &str = "id, tenant_id, name, created_at_ms, revoked_at_ms";

/// The columns of a runner token, shaped as a [`StoredToken`] of no tenant.
const RUNNER_TOKEN_COLUMNS: &str = "id, '' AS tenant_id, name, created_at_ms, revoked_at_ms";

/// The prefix of runner tokens' ids, which tells them from tenants' tokens.
pub const RUNNER_TOKEN_PREFIX: &str = "rtk_";

/// The table a token of this id is kept in, and its columns as a [`StoredToken`].
fn token_table(id: &str) -> (&'static str, &'static str) {
    if id.starts_with(RUNNER_TOKEN_PREFIX) {
        ("runner_tokens", RUNNER_TOKEN_COLUMNS)
    } else {
        ("tokens", TOKEN_COLUMNS)
    }
}

impl Store {
    /// Creates a tenant. Runners learn of it at once (an empty set of flows),
    /// so that test runs for it work before anything is bound.
    pub async fn create_tenant(
        &self,
        id: &str,
        name: &str,
        actor: &str,
    ) -> Result<StoredTenant, Error> {
        let mut change = self.change_flows(id).await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(change.tx())
            .await?;
        if exists.is_some() {
            return Err(Error::AlreadyExists(format!(
                "tenant {id:?} exists already"
            )));
        }
        let tenant = StoredTenant {
            id: id.to_owned(),
            name: name.to_owned(),
            created_at_ms: now_ms(),
        };
        sqlx::query("INSERT INTO tenants (id, name, created_at_ms) VALUES ($1, $2, $3)")
            .bind(&tenant.id)
            .bind(&tenant.name)
            .bind(tenant.created_at_ms)
            .execute(change.tx())
            .await?;
        append(
            change.tx(),
            AuditEntry {
                tenant: id,
                kind: "tenant.created",
                actor,
                subject: id,
                details: serde_json::json!({ "name": name }),
            },
        )
        .await?;
        change.commit().await?;
        Ok(tenant)
    }

    /// Every tenant, by id, after `after_id`.
    pub async fn tenants(&self, after_id: &str, limit: u32) -> Result<Vec<StoredTenant>, Error> {
        Ok(sqlx::query_as(
            "SELECT id, name, created_at_ms FROM tenants WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?)
    }

    /// Every tenant id (for snapshots).
    pub async fn tenant_ids(&self) -> Result<Vec<String>, Error> {
        Ok(sqlx::query_scalar("SELECT id FROM tenants ORDER BY id")
            .fetch_all(self.pool())
            .await?)
    }

    /// Whether the tenant exists.
    pub async fn tenant_exists(&self, id: &str) -> Result<bool, Error> {
        let found: Option<String> = sqlx::query_scalar("SELECT id FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(found.is_some())
    }

    /// Stores a token whose secret hashes to `secret_sha256`.
    pub async fn create_token(
        &self,
        id: &str,
        tenant: &str,
        name: &str,
        secret_sha256: &str,
        actor: &str,
    ) -> Result<StoredToken, Error> {
        if !self.tenant_exists(tenant).await? {
            return Err(Error::NotFound(format!("tenant {tenant:?}")));
        }
        let mut tx = self.write().await?;
        let token = StoredToken {
            id: id.to_owned(),
            tenant_id: tenant.to_owned(),
            name: name.to_owned(),
            created_at_ms: now_ms(),
            revoked_at_ms: 0,
        };
        sqlx::query(
            "INSERT INTO tokens (id, tenant_id, name, secret_sha256, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.id)
        .bind(&token.tenant_id)
        .bind(&token.name)
        .bind(secret_sha256)
        .bind(token.created_at_ms)
        .execute(tx.tx())
        .await?;
        append(
            tx.tx(),
            AuditEntry {
                tenant,
                kind: "token.created",
                actor,
                subject: id,
                details: serde_json::json!({ "name": name }),
            },
        )
        .await?;
        tx.commit().await?;
        self.activity_seen();
        Ok(token)
    }

    /// A tenant's tokens, oldest first.
    pub async fn tokens(&self, tenant: &str) -> Result<Vec<StoredToken>, Error> {
        Ok(sqlx::query_as(sql(format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant_id = $1 ORDER BY created_at_ms, id"
        )))
        .bind(tenant)
        .fetch_all(self.pool())
        .await?)
    }

    /// Stores a runner token (`id` starts with [`RUNNER_TOKEN_PREFIX`]).
    pub async fn create_runner_token(
        &self,
        id: &str,
        name: &str,
        secret_sha256: &str,
    ) -> Result<StoredToken, Error> {
        let token = StoredToken {
            id: id.to_owned(),
            tenant_id: String::new(),
            name: name.to_owned(),
            created_at_ms: now_ms(),
            revoked_at_ms: 0,
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO runner_tokens (id, name, secret_sha256, created_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&token.id)
        .bind(&token.name)
        .bind(secret_sha256)
        .bind(token.created_at_ms)
        .execute(tx.tx())
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Every runner token, oldest first.
    pub async fn runner_tokens(&self) -> Result<Vec<StoredToken>, Error> {
        Ok(sqlx::query_as(sql(format!(
            "SELECT {RUNNER_TOKEN_COLUMNS} FROM runner_tokens ORDER BY created_at_ms, id"
        )))
        .fetch_all(self.pool())
        .await?)
    }

    /// The valid runner token whose secret hashes to `secret_sha256`.
    pub async fn runner_token_by_secret(
        &self,
        secret_sha256: &str,
    ) -> Result<Option<StoredToken>, Error> {
        Ok(sqlx::query_as(sql(format!(
            "SELECT {RUNNER_TOKEN_COLUMNS} FROM runner_tokens \
             WHERE secret_sha256 = $1 AND revoked_at_ms = 0"
        )))
        .bind(secret_sha256)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Revokes a token (a tenant's or a runner's); revoking twice keeps the
    /// first time.
    pub async fn revoke_token(&self, id: &str, actor: &str) -> Result<StoredToken, Error> {
        let (table, columns) = token_table(id);
        let mut tx = self.write().await?;
        let token: Option<StoredToken> =
            sqlx::query_as(sql(format!("SELECT {columns} FROM {table} WHERE id = $1")))
                .bind(id)
                .fetch_optional(tx.tx())
                .await?;
        let mut token = token.ok_or_else(|| Error::NotFound(format!("token {id:?}")))?;
        if token.revoked_at_ms == 0 {
            token.revoked_at_ms = now_ms();
            sqlx::query(sql(format!(
                "UPDATE {table} SET revoked_at_ms = $1 WHERE id = $2"
            )))
            .bind(token.revoked_at_ms)
            .bind(id)
            .execute(tx.tx())
            .await?;
            // A runner token belongs to no tenant: no tenant's trail has it.
            if !token.tenant_id.is_empty() {
                append(
                    tx.tx(),
                    AuditEntry {
                        tenant: &token.tenant_id,
                        kind: "token.revoked",
                        actor,
                        subject: id,
                        details: serde_json::json!({ "name": token.name }),
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.activity_seen();
        Ok(token)
    }

    /// Whether the token `id` (a tenant's or a runner's) exists and is not revoked.
    pub async fn token_is_live(&self, id: &str) -> Result<bool, Error> {
        let (table, _) = token_table(id);
        let found: Option<String> = sqlx::query_scalar(sql(format!(
            "SELECT id FROM {table} WHERE id = $1 AND revoked_at_ms = 0"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    /// The valid token whose secret hashes to `secret_sha256`.
    pub async fn token_by_secret(&self, secret_sha256: &str) -> Result<Option<StoredToken>, Error> {
        Ok(sqlx::query_as(sql(format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_sha256 = $1 AND revoked_at_ms = 0"
        )))
        .bind(secret_sha256)
        .fetch_optional(self.pool())
        .await?)
    }
}
