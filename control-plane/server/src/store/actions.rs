//! Actions and their immutable versions; compiled modules by content hash;
//! the live version of each major.

use super::audit::{AuditEntry, append};
use super::flows::StoredBinding;
use super::sql;
use super::{Store, now_ms};
use crate::Error;
use actions_proto::manifest::SecretDeclaration;
use semver::Version;
use sqlx::{Any, Executor};

/// An Action as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredAction {
    /// URL-safe, unique per tenant, immutable.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When it was created.
    pub created_at_ms: i64,
}

/// A version as stored, without its source.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredVersion {
    /// The Action.
    pub slug: String,
    /// Semver.
    pub version: String,
    /// Its major.
    pub major: i64,
    /// Compatible triggers, a JSON array.
    pub triggers: String,
    /// The config schema, JSON.
    pub config_schema: String,
    /// The compiled module.
    pub module_sha256: String,
    /// When it was saved.
    pub created_at_ms: i64,
    /// Who saved it.
    pub created_by: String,
    /// When it was last published (0: never).
    pub published_at_ms: i64,
    /// Whether it is the live version of its major (1) or not (0).
    pub live: i64,
    /// The plugin the module was compiled for.
    pub plugin_id: String,
    /// The module's size.
    pub wasm_bytes: i64,
    /// The secrets it reads, a JSON list of `{name, description}`.
    pub secrets: String,
}

impl StoredVersion {
    /// The compatible triggers.
    pub fn trigger_names(&self) -> Vec<String> {
        serde_json::from_str(&self.triggers).unwrap_or_default()
    }

    /// The secrets it reads.
    pub fn secret_declarations(&self) -> Vec<SecretDeclaration> {
        secret_declarations(&self.secrets)
    }
}

/// Secret declarations as the `versions.secrets` column keeps them (checked
/// when saved; a version from before secrets has `[]`).
pub(crate) fn secret_declarations(column: &str) -> Vec<SecretDeclaration> {
    serde_json::from_str(column).unwrap_or_default()
}

/// An Action with what a listing shows of it: its latest version, the live
/// version of each major and how many bindings follow it.
#[derive(Debug, Clone)]
pub struct ActionSummary {
    /// The Action.
    pub action: StoredAction,
    /// Its latest version ('' if none).
    pub latest_version: String,
    /// The triggers of that version.
    pub latest_triggers: Vec<String>,
    /// The live version of each major, highest major first.
    pub live_versions: Vec<String>,
    /// Bindings that follow it (any major).
    pub bindings: u32,
}

/// One row per Action and live version (or one row with none): the Actions
/// of tenant `$1` chosen by `{filter}` (on `slug`, with `$2` and `$3`), each
/// with its latest version (the first by number, with a window function)
/// and its binding count. One statement whatever the number of Actions.
fn summaries(filter: &str) -> String {
    format!(
        "WITH page AS (SELECT tenant_id, slug, name, created_at_ms FROM actions \
             WHERE tenant_id = $1 AND {filter}), \
         ranked AS (SELECT v.slug, v.version, v.triggers, ROW_NUMBER() OVER \
             (PARTITION BY v.slug ORDER BY {NEWEST_FIRST}) AS n \
             FROM versions v JOIN page p ON p.tenant_id = v.tenant_id AND p.slug = v.slug) \
         SELECT p.slug, p.name, p.created_at_ms, \
             COALESCE(r.version, '') AS latest_version, COALESCE(r.triggers, '[]') AS triggers, \
             (SELECT COUNT(*) FROM bindings b \
                 WHERE b.tenant_id = p.tenant_id AND b.action_slug = p.slug) AS bindings, \
             l.version AS live_version \
         FROM page p \
         LEFT JOIN ranked r ON r.slug = p.slug AND r.n = 1 \
         LEFT JOIN live_versions l ON l.tenant_id = p.tenant_id AND l.slug = p.slug \
         ORDER BY p.slug, l.major DESC"
    )
}

type SummaryRow = (String, String, i64, String, String, i64, Option<String>);

/// Folds [`summaries`] rows (in its order) into one summary per Action.
fn fold_summaries(rows: Vec<SummaryRow>) -> Vec<ActionSummary> {
    let mut found: Vec<ActionSummary> = Vec::new();
    for (slug, name, created_at_ms, latest_version, triggers, bindings, live) in rows {
        if found.last().is_none_or(|last| last.action.slug != slug) {
            found.push(ActionSummary {
                action: StoredAction {
                    slug,
                    name,
                    created_at_ms,
                },
                latest_version,
                latest_triggers: serde_json::from_str(&triggers).unwrap_or_default(),
                live_versions: Vec::new(),
                bindings: u32::try_from(bindings).unwrap_or(u32::MAX),
            });
        }
        if let (Some(live), Some(summary)) = (live, found.last_mut()) {
            summary.live_versions.push(live);
        }
    }
    found
}

/// A compiled version about to be stored; its number is settled in the
/// transaction that stores it.
pub struct NewVersion {
    /// The Action's slug.
    pub slug: String,
    /// The version asked for; `None`: the latest with its patch bumped.
    pub requested: Option<Version>,
    /// Compatible triggers.
    pub triggers: Vec<String>,
    /// Config schema, JSON.
    pub config_schema: String,
    /// The source files and entry, JSON.
    pub source: String,
    /// The bundled JavaScript.
    pub javascript: String,
    /// The module.
    pub wasm: Vec<u8>,
    /// Its SHA-256, hex.
    pub module_sha256: String,
    /// The plugin it was compiled for.
    pub plugin_id: String,
    /// The secrets it reads, checked.
    pub secrets: Vec<SecretDeclaration>,
}

/// What the audit says of a saved version: its module and triggers, and
/// its config schema both ways when it differs from the version before, so
/// that the change can be shown as a diff.
fn version_saved_details(new: &NewVersion, schema_before: Option<&str>) -> serde_json::Value {
    let mut details = serde_json::json!({
        "module_sha256": new.module_sha256,
        "triggers": new.triggers,
    });
    if !new.secrets.is_empty() {
        details["secrets"] = new.secrets.iter().map(|d| d.name.as_str()).collect();
    }
    if let Some(before) = schema_before.filter(|before| *before != new.config_schema) {
        let as_json = |text: &str| {
            serde_json::from_str::<serde_json::Value>(text).unwrap_or_else(|_| text.into())
        };
        details["config_schema_before"] = as_json(before);
        details["config_schema"] = as_json(&new.config_schema);
    }
    details
}

const VERSION_COLUMNS: &str = "v.slug, v.version, v.major, v.triggers, v.config_schema, \
     v.module_sha256, v.created_at_ms, v.created_by, v.published_at_ms, \
     CASE WHEN l.version IS NULL THEN 0 ELSE 1 END AS live, m.plugin_id, \
     LENGTH(m.wasm) AS wasm_bytes, v.secrets";

const VERSION_FROM: &str = "versions v \
     JOIN modules m ON m.sha256 = v.module_sha256 \
     LEFT JOIN live_versions l ON l.tenant_id = v.tenant_id AND l.slug = v.slug \
         AND l.major = v.major AND l.version = v.version";

/// How versions sort: by number, not by text.
const NEWEST_FIRST: &str = "v.major DESC, v.minor DESC, v.patch DESC, v.version DESC";

impl Store {
    /// Stores `new` as a new version of the Action, creating the Action
    /// first when `create` names it. The version never repeats and never
    /// goes backwards.
    pub async fn save_version(
        &self,
        tenant: &str,
        create: Option<&str>,
        new: NewVersion,
        actor: &str,
    ) -> Result<(StoredAction, StoredVersion, bool), Error> {
        let mut tx = self.write().await?;
        let now = now_ms();
        let existing: Option<StoredAction> = sqlx::query_as(
            "SELECT slug, name, created_at_ms FROM actions WHERE tenant_id = $1 AND slug = $2",
        )
        .bind(tenant)
        .bind(&new.slug)
        .fetch_optional(tx.tx())
        .await?;
        let (action, created) = match (existing, create) {
            (Some(_), Some(_)) => {
                return Err(Error::AlreadyExists(format!(
                    "action {:?} exists already; save a new version of it instead",
                    new.slug
                )));
            }
            (Some(action), None) => (action, false),
            (None, None) => return Err(Error::NotFound(format!("action {:?}", new.slug))),
            (None, Some(name)) => {
                sqlx::query(
                    "INSERT INTO actions (tenant_id, slug, name, created_at_ms) VALUES ($1, $2, $3, $4)",
                )
                .bind(tenant)
                .bind(&new.slug)
                .bind(name)
                .bind(now)
                .execute(tx.tx())
                .await?;
                append(
                    tx.tx(),
                    AuditEntry {
                        tenant,
                        kind: "action.created",
                        actor,
                        subject: &new.slug,
                        details: serde_json::json!({ "name": name }),
                    },
                )
                .await?;
                let action = StoredAction {
                    slug: new.slug.clone(),
                    name: name.to_owned(),
                    created_at_ms: now,
                };
                (action, true)
            }
        };
        let latest: Option<(i64, i64, i64, String, String)> = sqlx::query_as(sql(format!(
            "SELECT v.major, v.minor, v.patch, v.version, v.config_schema FROM versions v \
             WHERE v.tenant_id = $1 AND v.slug = $2 ORDER BY {NEWEST_FIRST} LIMIT 1"
        )))
        .bind(tenant)
        .bind(&new.slug)
        .fetch_optional(tx.tx())
        .await?;
        let schema_before = latest.as_ref().map(|(_, _, _, _, schema)| schema.clone());
        let latest = latest
            .map(|(_, _, _, text, _)| Version::parse(&text))
            .transpose()
            .map_err(|e| Error::Internal(format!("a stored version does not parse: {e}")))?;
        let version = next_version(latest.as_ref(), new.requested.as_ref(), &new.slug)?;
        sqlx::query(
            "INSERT INTO modules (sha256, plugin_id, wasm, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&new.module_sha256)
        .bind(&new.plugin_id)
        .bind(new.wasm.as_slice())
        .bind(now)
        .execute(tx.tx())
        .await?;
        sqlx::query(
            "INSERT INTO versions (tenant_id, slug, version, major, minor, patch, triggers, \
             config_schema, source, javascript, module_sha256, created_at_ms, created_by, secrets) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(tenant)
        .bind(&new.slug)
        .bind(version.to_string())
        .bind(version.major as i64)
        .bind(version.minor as i64)
        .bind(version.patch as i64)
        .bind(serde_json::to_string(&new.triggers).unwrap_or_default())
        .bind(&new.config_schema)
        .bind(&new.source)
        .bind(&new.javascript)
        .bind(&new.module_sha256)
        .bind(now)
        .bind(actor)
        .bind(serde_json::to_string(&new.secrets).unwrap_or_else(|_| "[]".into()))
        .execute(tx.tx())
        .await?;
        append(
            tx.tx(),
            AuditEntry {
                tenant,
                kind: "action.version_saved",
                actor,
                subject: &format!("{}@{version}", new.slug),
                details: version_saved_details(&new, schema_before.as_deref()),
            },
        )
        .await?;
        tx.commit().await?;
        self.activity_seen();
        let stored = self
            .version(tenant, &new.slug, &version.to_string())
            .await?
            .ok_or_else(|| Error::Internal("the saved version vanished".into()))?;
        Ok((action, stored, created))
    }

    /// One Action.
    pub async fn action(&self, tenant: &str, slug: &str) -> Result<Option<StoredAction>, Error> {
        Ok(sqlx::query_as(
            "SELECT slug, name, created_at_ms FROM actions WHERE tenant_id = $1 AND slug = $2",
        )
        .bind(tenant)
        .bind(slug)
        .fetch_optional(self.pool())
        .await?)
    }

    /// A tenant's Actions by slug, after `after_slug`, summarised: one query.
    pub async fn action_summaries(
        &self,
        tenant: &str,
        after_slug: &str,
        limit: u32,
    ) -> Result<Vec<ActionSummary>, Error> {
        let rows: Vec<SummaryRow> =
            sqlx::query_as(sql(summaries("slug > $2 ORDER BY slug LIMIT $3")))
                .bind(tenant)
                .bind(after_slug)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?;
        Ok(fold_summaries(rows))
    }

    /// One Action, summarised: one query.
    pub async fn action_summary(
        &self,
        tenant: &str,
        slug: &str,
    ) -> Result<Option<ActionSummary>, Error> {
        let rows: Vec<SummaryRow> = sqlx::query_as(sql(summaries("slug = $2")))
            .bind(tenant)
            .bind(slug)
            .fetch_all(self.pool())
            .await?;
        Ok(fold_summaries(rows).pop())
    }

    /// One version.
    pub async fn version(
        &self,
        tenant: &str,
        slug: &str,
        version: &str,
    ) -> Result<Option<StoredVersion>, Error> {
        version_in(self.pool(), tenant, slug, version).await
    }

    /// An Action's versions, newest first, skipping the first `offset`.
    pub async fn versions(
        &self,
        tenant: &str,
        slug: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<StoredVersion>, Error> {
        Ok(sqlx::query_as(sql(format!(
            "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM} \
             WHERE v.tenant_id = $1 AND v.slug = $2 ORDER BY {NEWEST_FIRST} LIMIT $3 OFFSET $4"
        )))
        .bind(tenant)
        .bind(slug)
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(self.pool())
        .await?)
    }

    /// The source (files and entry, JSON) and generated JavaScript of a version.
    pub async fn version_source(
        &self,
        tenant: &str,
        slug: &str,
        version: &str,
    ) -> Result<Option<(String, String)>, Error> {
        Ok(sqlx::query_as(
            "SELECT source, javascript FROM versions \
             WHERE tenant_id = $1 AND slug = $2 AND version = $3",
        )
        .bind(tenant)
        .bind(slug)
        .bind(version)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Makes `version` the live version of its major. `check` sees the
    /// bindings that follow that major and the names of the Action's
    /// secrets that are set, in the same transaction, and may refuse.
    /// Writes `flow.action_published`.
    pub async fn publish(
        &self,
        tenant: &str,
        slug: &str,
        version: &str,
        actor: &str,
        check: impl FnOnce(&StoredVersion, &[StoredBinding], &[String]) -> Result<(), Error>,
    ) -> Result<StoredVersion, Error> {
        let mut change = self.change_flows(tenant).await?;
        let stored = version_in(change.tx(), tenant, slug, version).await?;
        let stored = stored
            .ok_or_else(|| Error::NotFound(format!("version {version:?} of action {slug:?}")))?;
        let following =
            super::flows::bindings_of(change.tx(), tenant, Some((slug, stored.major))).await?;
        let secrets_set: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM action_secrets WHERE tenant_id = $1 AND slug = $2 ORDER BY name",
        )
        .bind(tenant)
        .bind(slug)
        .fetch_all(change.tx())
        .await?;
        check(&stored, &following, &secrets_set)?;
        let now = now_ms();
        sqlx::query(
            "UPDATE versions SET published_at_ms = $1 WHERE tenant_id = $2 AND slug = $3 AND version = $4",
        )
        .bind(now)
        .bind(tenant)
        .bind(slug)
        .bind(version)
        .execute(change.tx())
        .await?;
        sqlx::query("DELETE FROM live_versions WHERE tenant_id = $1 AND slug = $2 AND major = $3")
            .bind(tenant)
            .bind(slug)
            .bind(stored.major)
            .execute(change.tx())
            .await?;
        sqlx::query(
            "INSERT INTO live_versions (tenant_id, slug, major, version) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(slug)
        .bind(stored.major)
        .bind(version)
        .execute(change.tx())
        .await?;
        append(
            change.tx(),
            AuditEntry {
                tenant,
                kind: "flow.action_published",
                actor,
                subject: &format!("{slug}@{version}"),
                details: serde_json::json!({
                    "major": stored.major,
                    "module_sha256": stored.module_sha256,
                    "bindings": following.iter().map(|b| &b.id).collect::<Vec<_>>(),
                }),
            },
        )
        .await?;
        change.commit().await?;
        self.version(tenant, slug, version)
            .await?
            .ok_or_else(|| Error::Internal("the published version vanished".into()))
    }

    /// Deletes an Action and its versions; refused while it is bound.
    pub async fn delete_action(&self, tenant: &str, slug: &str, actor: &str) -> Result<u32, Error> {
        let mut tx = self.write().await?;
        require_action(tx.tx(), tenant, slug).await?;
        let bound: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, trigger_name FROM bindings WHERE tenant_id = $1 AND action_slug = $2 ORDER BY id",
        )
        .bind(tenant)
        .bind(slug)
        .fetch_all(tx.tx())
        .await?;
        if !bound.is_empty() {
            let list: Vec<String> = bound.iter().map(|(id, t)| format!("{id} ({t})")).collect();
            return Err(Error::FailedPrecondition(format!(
                "action {slug:?} is bound to trigger slots; detach these bindings first: {}",
                list.join(", ")
            )));
        }
        sqlx::query("DELETE FROM live_versions WHERE tenant_id = $1 AND slug = $2")
            .bind(tenant)
            .bind(slug)
            .execute(tx.tx())
            .await?;
        let secrets: Vec<String> = sqlx::query_scalar(
            "DELETE FROM action_secrets WHERE tenant_id = $1 AND slug = $2 RETURNING name",
        )
        .bind(tenant)
        .bind(slug)
        .fetch_all(tx.tx())
        .await?;
        let deleted = sqlx::query("DELETE FROM versions WHERE tenant_id = $1 AND slug = $2")
            .bind(tenant)
            .bind(slug)
            .execute(tx.tx())
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM actions WHERE tenant_id = $1 AND slug = $2")
            .bind(tenant)
            .bind(slug)
            .execute(tx.tx())
            .await?;
        append(
            tx.tx(),
            AuditEntry {
                tenant,
                kind: "action.deleted",
                actor,
                subject: slug,
                details: serde_json::json!({ "versions": deleted, "secrets": secrets }),
            },
        )
        .await?;
        tx.commit().await?;
        self.activity_seen();
        Ok(deleted as u32)
    }

    /// Keeps a compiled module that belongs to no version (a test run of an
    /// unsaved source), so that a runner can fetch it by its hash.
    pub async fn put_module(
        &self,
        sha256: &str,
        plugin_id: &str,
        wasm: Vec<u8>,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO modules (sha256, plugin_id, wasm, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha256)
        .bind(plugin_id)
        .bind(wasm)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A module by content hash (runners only: modules are shared by content).
    pub async fn module(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>, Error> {
        Ok(
            sqlx::query_as("SELECT plugin_id, wasm FROM modules WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(self.pool())
                .await?,
        )
    }
}

/// One version, in the caller's connection or transaction.
/// `NotFound` unless the tenant has the Action (in the caller's transaction).
pub(crate) async fn require_action<'c>(
    db: impl Executor<'c, Database = Any>,
    tenant: &str,
    slug: &str,
) -> Result<(), Error> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT slug FROM actions WHERE tenant_id = $1 AND slug = $2")
            .bind(tenant)
            .bind(slug)
            .fetch_optional(db)
            .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(Error::NotFound(format!("action {slug:?}"))),
    }
}

async fn version_in<'c>(
    db: impl Executor<'c, Database = Any>,
    tenant: &str,
    slug: &str,
    version: &str,
) -> Result<Option<StoredVersion>, Error> {
    Ok(sqlx::query_as(sql(format!(
        "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM} \
         WHERE v.tenant_id = $1 AND v.slug = $2 AND v.version = $3"
    )))
    .bind(tenant)
    .bind(slug)
    .bind(version)
    .fetch_optional(db)
    .await?)
}

/// The number of the next version: the one asked for when it is above
/// every existing one, else the latest with its patch bumped.
fn next_version(
    latest: Option<&Version>,
    requested: Option<&Version>,
    slug: &str,
) -> Result<Version, Error> {
    match (latest, requested) {
        (None, Some(requested)) => Ok(requested.clone()),
        (None, None) => Ok(Version::new(0, 1, 0)),
        (Some(latest), None) => Ok(Version::new(latest.major, latest.minor, latest.patch + 1)),
        (Some(latest), Some(requested)) if requested > latest => Ok(requested.clone()),
        (Some(latest), Some(requested)) => Err(Error::FailedPrecondition(format!(
            "version {requested} of action {slug:?} is not above the latest version {latest}; \
             versions never repeat or go backwards (leave the version out to get {})",
            Version::new(latest.major, latest.minor, latest.patch + 1)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_only_go_forward() {
        let v = |s: &str| Version::parse(s).expect("semver");
        assert_eq!(next_version(None, None, "a").ok(), Some(v("0.1.0")));
        assert_eq!(
            next_version(Some(&v("1.2.3")), None, "a").ok(),
            Some(v("1.2.4"))
        );
        assert_eq!(
            next_version(Some(&v("1.2.3")), Some(&v("2.0.0")), "a").ok(),
            Some(v("2.0.0"))
        );
        assert!(next_version(Some(&v("1.2.3")), Some(&v("1.2.3")), "a").is_err());
        assert!(next_version(Some(&v("1.2.3")), Some(&v("1.0.9")), "a").is_err());
    }
}
