//! Secret values of Actions, sealed (see [`crate::sealing`]): this module
//! never sees a value in clear. Setting or removing one changes what
//! runners run, so it bumps the flows revision, and is audited by name in
//! the same transaction.

use super::audit::{AuditEntry, append};
use super::{Store, now_ms};
use crate::Error;
use crate::sealing::Sealed;
use actions_proto::sizes::{MAX_SECRET_BYTES_PER_ACTION, MAX_SECRETS_PER_ACTION};

/// A secret as stored: its metadata and its sealed value.
#[derive(Debug, Clone)]
pub struct StoredSecret {
    /// The Action.
    pub slug: String,
    /// `event.secrets.NAME`.
    pub name: String,
    /// The value, sealed.
    pub sealed: Sealed,
    /// The value's length in bytes (the ciphertext shows it anyway).
    pub value_bytes: i64,
    /// The token that set it.
    pub set_by: String,
    /// When.
    pub set_at_ms: i64,
}

type SecretRow = (String, String, String, Vec<u8>, Vec<u8>, i64, String, i64);

const SECRET_COLUMNS: &str =
    "slug, name, key_id, wrapped_key, ciphertext, value_bytes, set_by, set_at_ms";

fn stored(row: SecretRow) -> StoredSecret {
    let (slug, name, key_id, wrapped_key, ciphertext, value_bytes, set_by, set_at_ms) = row;
    StoredSecret {
        slug,
        name,
        sealed: Sealed {
            key_id,
            wrapped_key,
            ciphertext,
        },
        value_bytes,
        set_by,
        set_at_ms,
    }
}

/// A [`SecretRow`] with its tenant first.
type TenantSecretRow = (
    String,
    String,
    String,
    String,
    Vec<u8>,
    Vec<u8>,
    i64,
    String,
    i64,
);

fn with_tenant(row: TenantSecretRow) -> (String, StoredSecret) {
    let (tenant, slug, name, key_id, wrapped, ciphertext, bytes, by, at) = row;
    (
        tenant,
        stored((slug, name, key_id, wrapped, ciphertext, bytes, by, at)),
    )
}

/// A secret about to be set.
pub struct NewSecret<'a> {
    /// The Action.
    pub slug: &'a str,
    /// The name (checked by the caller).
    pub name: &'a str,
    /// The value, sealed for this tenant, Action and name.
    pub sealed: Sealed,
    /// The value's length in bytes.
    pub value_bytes: usize,
}

impl Store {
    /// Sets (or replaces) a secret of an Action: refused when the Action
    /// does not exist, or when it would pass the caps on secrets per Action.
    pub async fn set_secret(
        &self,
        tenant: &str,
        new: NewSecret<'_>,
        actor: &str,
    ) -> Result<StoredSecret, Error> {
        let mut change = self.change_flows(tenant).await?;
        super::actions::require_action(change.tx(), tenant, new.slug).await?;
        let others: Vec<(String, i64)> = sqlx::query_as(
            "SELECT name, value_bytes FROM action_secrets \
             WHERE tenant_id = $1 AND slug = $2 AND name <> $3",
        )
        .bind(tenant)
        .bind(new.slug)
        .bind(new.name)
        .fetch_all(change.tx())
        .await?;
        if others.len() >= MAX_SECRETS_PER_ACTION {
            return Err(Error::FailedPrecondition(format!(
                "action {:?} has {} secrets set, the most an Action may have; remove one first",
                new.slug,
                others.len()
            )));
        }
        let total = others.iter().map(|(_, b)| *b as usize).sum::<usize>() + new.value_bytes;
        if total > MAX_SECRET_BYTES_PER_ACTION {
            return Err(Error::Invalid(format!(
                "the secrets of action {:?} would take {total} bytes together, over the limit \
                 of {MAX_SECRET_BYTES_PER_ACTION}",
                new.slug
            )));
        }
        let replaced: Option<String> = sqlx::query_scalar(
            "DELETE FROM action_secrets WHERE tenant_id = $1 AND slug = $2 AND name = $3 \
             RETURNING name",
        )
        .bind(tenant)
        .bind(new.slug)
        .bind(new.name)
        .fetch_optional(change.tx())
        .await?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO action_secrets (tenant_id, slug, name, key_id, wrapped_key, ciphertext, \
             value_bytes, set_by, set_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant)
        .bind(new.slug)
        .bind(new.name)
        .bind(&new.sealed.key_id)
        .bind(new.sealed.wrapped_key.as_slice())
        .bind(new.sealed.ciphertext.as_slice())
        .bind(new.value_bytes as i64)
        .bind(actor)
        .bind(now)
        .execute(change.tx())
        .await?;
        append(
            change.tx(),
            AuditEntry {
                tenant,
                kind: "secret.set",
                actor,
                subject: new.slug,
                details: serde_json::json!({
                    "name": new.name,
                    "replaced": replaced.is_some(),
                }),
            },
        )
        .await?;
        change.commit().await?;
        Ok(StoredSecret {
            slug: new.slug.to_owned(),
            name: new.name.to_owned(),
            sealed: new.sealed,
            value_bytes: new.value_bytes as i64,
            set_by: actor.to_owned(),
            set_at_ms: now,
        })
    }

    /// Removes a secret. Refused while a live version of the Action reads
    /// it: its bindings would run without it.
    pub async fn remove_secret(
        &self,
        tenant: &str,
        slug: &str,
        name: &str,
        actor: &str,
    ) -> Result<(), Error> {
        let mut change = self.change_flows(tenant).await?;
        let found: Option<String> = sqlx::query_scalar(
            "SELECT name FROM action_secrets WHERE tenant_id = $1 AND slug = $2 AND name = $3",
        )
        .bind(tenant)
        .bind(slug)
        .bind(name)
        .fetch_optional(change.tx())
        .await?;
        if found.is_none() {
            return Err(Error::NotFound(format!(
                "secret {name:?} of action {slug:?}"
            )));
        }
        let live: Vec<(String, String)> = sqlx::query_as(
            "SELECT v.version, v.secrets FROM live_versions l JOIN versions v \
             ON v.tenant_id = l.tenant_id AND v.slug = l.slug AND v.version = l.version \
             WHERE l.tenant_id = $1 AND l.slug = $2 ORDER BY l.major",
        )
        .bind(tenant)
        .bind(slug)
        .fetch_all(change.tx())
        .await?;
        let reading: Vec<String> = live
            .into_iter()
            .filter(|(_, secrets)| {
                super::actions::secret_declarations(secrets)
                    .iter()
                    .any(|d| d.name == name)
            })
            .map(|(version, _)| format!("{slug}@{version}"))
            .collect();
        if !reading.is_empty() {
            return Err(Error::FailedPrecondition(format!(
                "secret {name:?} is read by {}, which is live; publish a version that does not \
                 declare it first",
                reading.join(" and ")
            )));
        }
        sqlx::query("DELETE FROM action_secrets WHERE tenant_id = $1 AND slug = $2 AND name = $3")
            .bind(tenant)
            .bind(slug)
            .bind(name)
            .execute(change.tx())
            .await?;
        append(
            change.tx(),
            AuditEntry {
                tenant,
                kind: "secret.removed",
                actor,
                subject: slug,
                details: serde_json::json!({ "name": name }),
            },
        )
        .await?;
        change.commit().await?;
        Ok(())
    }

    /// The secrets set for one Action, by name.
    pub async fn secrets_of(&self, tenant: &str, slug: &str) -> Result<Vec<StoredSecret>, Error> {
        let rows: Vec<SecretRow> = sqlx::query_as(super::sql(format!(
            "SELECT {SECRET_COLUMNS} FROM action_secrets \
             WHERE tenant_id = $1 AND slug = $2 ORDER BY name"
        )))
        .bind(tenant)
        .bind(slug)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(stored).collect())
    }

    /// Every secret of a tenant's Actions, by Action and name.
    pub async fn tenant_secrets(&self, tenant: &str) -> Result<Vec<StoredSecret>, Error> {
        let rows: Vec<SecretRow> = sqlx::query_as(super::sql(format!(
            "SELECT {SECRET_COLUMNS} FROM action_secrets WHERE tenant_id = $1 ORDER BY slug, name"
        )))
        .bind(tenant)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(stored).collect())
    }

    /// Every tenant's secrets, by tenant, Action and name: what a runner
    /// that starts over is sent with the flows.
    pub async fn every_secret(&self) -> Result<Vec<(String, StoredSecret)>, Error> {
        let rows: Vec<TenantSecretRow> = sqlx::query_as(super::sql(format!(
            "SELECT tenant_id, {SECRET_COLUMNS} FROM action_secrets \
             ORDER BY tenant_id, slug, name"
        )))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(with_tenant).collect())
    }

    /// The ids of the keys secrets are sealed under, each with how many.
    pub async fn secret_key_ids(&self) -> Result<Vec<(String, i64)>, Error> {
        Ok(sqlx::query_as(
            "SELECT key_id, COUNT(*) FROM action_secrets GROUP BY key_id ORDER BY key_id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Up to `limit` secrets sealed under a key other than `key_id`, with
    /// their tenant, after the secret `after` names (tenant, Action, name),
    /// in that order: a walk that ends even when rows cannot be resealed.
    pub async fn secrets_not_under(
        &self,
        key_id: &str,
        after: (&str, &str, &str),
        limit: u32,
    ) -> Result<Vec<(String, StoredSecret)>, Error> {
        let (tenant, slug, name) = after;
        let rows: Vec<TenantSecretRow> = sqlx::query_as(super::sql(format!(
            "SELECT tenant_id, {SECRET_COLUMNS} FROM action_secrets \
             WHERE key_id <> $1 AND (tenant_id > $2 OR (tenant_id = $2 AND (slug > $3 \
                 OR (slug = $3 AND name > $4)))) \
             ORDER BY tenant_id, slug, name LIMIT $5"
        )))
        .bind(key_id)
        .bind(tenant)
        .bind(slug)
        .bind(name)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(with_tenant).collect())
    }

    /// The ids of the operator keys control planes were given before.
    pub async fn secrets_keys_seen(&self) -> Result<Vec<String>, Error> {
        Ok(
            sqlx::query_scalar("SELECT key_id FROM secrets_keys_seen ORDER BY key_id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Records that a control plane was given these operator keys.
    pub async fn see_secrets_keys(&self, key_ids: &[&str]) -> Result<(), Error> {
        let mut write = self.write().await?;
        for key_id in key_ids {
            sqlx::query(
                "INSERT INTO secrets_keys_seen (key_id, first_seen_at_ms) VALUES ($1, $2) \
                 ON CONFLICT (key_id) DO NOTHING",
            )
            .bind(*key_id)
            .bind(now_ms())
            .execute(write.tx())
            .await?;
        }
        write.commit().await
    }

    /// Replaces the sealed data key of one secret, if it is still sealed
    /// as `before` says (another replica may have resealed it meanwhile).
    /// The value and its metadata are unchanged: this is a key rotation.
    pub async fn reseal_secret(
        &self,
        tenant: &str,
        secret: &StoredSecret,
        after: &Sealed,
    ) -> Result<bool, Error> {
        let mut write = self.write().await?;
        let changed = sqlx::query(
            "UPDATE action_secrets SET key_id = $1, wrapped_key = $2 \
             WHERE tenant_id = $3 AND slug = $4 AND name = $5 AND key_id = $6 AND wrapped_key = $7",
        )
        .bind(&after.key_id)
        .bind(after.wrapped_key.as_slice())
        .bind(tenant)
        .bind(&secret.slug)
        .bind(&secret.name)
        .bind(&secret.sealed.key_id)
        .bind(secret.sealed.wrapped_key.as_slice())
        .execute(write.tx())
        .await?
        .rows_affected();
        write.commit().await?;
        Ok(changed == 1)
    }
}
