//! Bindings of Actions to the trigger slots of a tenant's flows. Positions
//! in a slot are kept dense (0, 1, 2, ...). Every change bumps the flows
//! revision and is audited in the same transaction.

use super::actions::StoredVersion;
use super::audit::{AuditEntry, append};
use super::sql;
use super::{Store, now_ms};
use crate::Error;
use actions_proto::runner::v1::Limits;
use actions_proto::sizes::MAX_BINDINGS_PER_SLOT;
use prost::Message as _;
use sqlx::{Any, Executor};

/// A binding, with the live version of its major resolved.
#[derive(Debug, Clone)]
pub struct StoredBinding {
    /// `bnd_...`.
    pub id: String,
    /// The slot.
    pub trigger_name: String,
    /// 0-based place in the slot.
    pub position: i64,
    /// The Action.
    pub action_slug: String,
    /// The major it follows.
    pub major: i64,
    /// Its config, JSON.
    pub config: String,
    /// 1: a failure of this binding lets the flow carry on.
    pub fail_open: i64,
    /// When it was attached.
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
    /// The live version of its major ('' if none).
    pub version: String,
    /// That version's module ('' if none).
    pub module_sha256: String,
    /// What a run of it may use; `None`: the runner's defaults. Never all
    /// zeros (those are stored as `None`).
    pub limits: Option<Limits>,
}

/// A row of [`RESOLVED_COLUMNS`]: a [`StoredBinding`] with its limits still encoded.
#[derive(sqlx::FromRow)]
struct BindingRow {
    id: String,
    trigger_name: String,
    position: i64,
    action_slug: String,
    major: i64,
    config: String,
    fail_open: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
    version: String,
    module_sha256: String,
    limits: Option<Vec<u8>>,
}

impl TryFrom<BindingRow> for StoredBinding {
    type Error = Error;

    fn try_from(row: BindingRow) -> Result<Self, Error> {
        let limits = row
            .limits
            .map(|bytes| Limits::decode(bytes.as_slice()))
            .transpose()
            .map_err(|e| {
                Error::Internal(format!("the stored limits of binding {}: {e}", row.id))
            })?;
        Ok(Self {
            id: row.id,
            trigger_name: row.trigger_name,
            position: row.position,
            action_slug: row.action_slug,
            major: row.major,
            config: row.config,
            fail_open: row.fail_open,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
            version: row.version,
            module_sha256: row.module_sha256,
            limits,
        })
    }
}

/// Limits as they are kept: `None` (NULL, the column of bindings attached
/// before limits existed) when nothing is set.
fn kept(limits: Option<&Limits>) -> Option<&Limits> {
    limits.filter(|l| !l.is_default())
}

/// Limits as the `bindings.limits` column holds them: the encoded protobuf,
/// or NULL for the defaults.
fn encoded(limits: Option<&Limits>) -> Option<Vec<u8>> {
    kept(limits).map(|l| l.encode_to_vec())
}

/// Limits as the audit trail shows them: the fields set, or `null` for the defaults.
fn limits_json(limits: Option<&Limits>) -> serde_json::Value {
    match kept(limits) {
        None => serde_json::Value::Null,
        Some(limits) => limits
            .fields()
            .into_iter()
            .filter(|(_, value)| *value != 0)
            .map(|(field, value)| (field.to_owned(), value.into()))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// A stored config as the audit trail shows it: the JSON itself (configs
/// are checked JSON objects; anything else is shown as the text it is).
fn config_value(config: &str) -> serde_json::Value {
    serde_json::from_str(config).unwrap_or_else(|_| config.into())
}

/// A binding's columns, with the live version of its major resolved by
/// [`RESOLVED_JOINS`].
const RESOLVED_COLUMNS: &str = "b.id, b.trigger_name, b.position, b.action_slug, b.major, \
     b.config, b.fail_open, b.created_at_ms, b.updated_at_ms, \
     COALESCE(l.version, '') AS version, COALESCE(v.module_sha256, '') AS module_sha256, \
     b.limits";

/// From bindings `b` to the live version `l` of each one's major and that version `v`.
const RESOLVED_JOINS: &str = "LEFT JOIN live_versions l ON l.tenant_id = b.tenant_id \
         AND l.slug = b.action_slug AND l.major = b.major \
     LEFT JOIN versions v ON v.tenant_id = l.tenant_id AND v.slug = l.slug \
         AND v.version = l.version";

/// A tenant's bindings (`$1`), resolved; conditions and an order follow.
fn resolved(rest: &str) -> String {
    format!(
        "SELECT {RESOLVED_COLUMNS} FROM bindings b {RESOLVED_JOINS} WHERE b.tenant_id = $1 {rest}"
    )
}

/// A tenant's bindings in slot order, or only those following `(slug, major)`.
pub(crate) async fn bindings_of<'c>(
    db: impl Executor<'c, Database = Any>,
    tenant: &str,
    following: Option<(&str, i64)>,
) -> Result<Vec<StoredBinding>, Error> {
    let rows: Vec<BindingRow> = match following {
        None => {
            sqlx::query_as(sql(resolved("ORDER BY b.trigger_name, b.position")))
                .bind(tenant)
                .fetch_all(db)
                .await?
        }
        Some((slug, major)) => {
            sqlx::query_as(sql(resolved(
                "AND b.action_slug = $2 AND b.major = $3 ORDER BY b.trigger_name, b.position",
            )))
            .bind(tenant)
            .bind(slug)
            .bind(major)
            .fetch_all(db)
            .await?
        }
    };
    rows.into_iter().map(StoredBinding::try_from).collect()
}

async fn binding_by_id<'c>(
    db: impl Executor<'c, Database = Any>,
    tenant: &str,
    id: &str,
) -> Result<StoredBinding, Error> {
    let found: Option<BindingRow> = sqlx::query_as(sql(resolved("AND b.id = $2")))
        .bind(tenant)
        .bind(id)
        .fetch_optional(db)
        .await?;
    found
        .ok_or_else(|| Error::NotFound(format!("binding {id:?}")))?
        .try_into()
}

/// The live version of `slug`'s `major`, or of its most recently published
/// major when `major` is `None`.
async fn live_version<'c>(
    db: impl Executor<'c, Database = Any>,
    tenant: &str,
    slug: &str,
    major: Option<i64>,
) -> Result<Option<StoredVersion>, Error> {
    let columns = "v.slug, v.version, v.major, v.triggers, v.config_schema, v.module_sha256, \
         v.created_at_ms, v.created_by, v.published_at_ms, 1 AS live, m.plugin_id, \
         LENGTH(m.wasm) AS wasm_bytes, v.secrets \
         FROM live_versions l \
         JOIN versions v ON v.tenant_id = l.tenant_id AND v.slug = l.slug AND v.version = l.version \
         JOIN modules m ON m.sha256 = v.module_sha256 \
         WHERE l.tenant_id = $1 AND l.slug = $2";
    let found = match major {
        Some(major) => {
            sqlx::query_as(sql(format!("SELECT {columns} AND l.major = $3")))
                .bind(tenant)
                .bind(slug)
                .bind(major)
                .fetch_optional(db)
                .await?
        }
        None => {
            sqlx::query_as(sql(format!(
                "SELECT {columns} ORDER BY v.published_at_ms DESC, v.major DESC LIMIT 1"
            )))
            .bind(tenant)
            .bind(slug)
            .fetch_optional(db)
            .await?
        }
    };
    Ok(found)
}

async fn slot_len<'c>(
    db: impl Executor<'c, Database = Any>,
    tenant: &str,
    trigger: &str,
) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM bindings WHERE tenant_id = $1 AND trigger_name = $2",
    )
    .bind(tenant)
    .bind(trigger)
    .fetch_one(db)
    .await?)
}

/// Opens a gap at `position` (shifting the rest down one place) or closes
/// the one there (shifting up), so that positions stay dense.
async fn shift_from<'c>(
    db: impl Executor<'c, Database = Any>,
    tenant: &str,
    trigger: &str,
    position: i64,
    by: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE bindings SET position = position + $1 \
         WHERE tenant_id = $2 AND trigger_name = $3 AND position >= $4",
    )
    .bind(by)
    .bind(tenant)
    .bind(trigger)
    .bind(position)
    .execute(db)
    .await?;
    Ok(())
}

/// A binding to attach.
pub struct NewBinding<'a> {
    /// `bnd_...`.
    pub id: &'a str,
    /// The slot.
    pub trigger: &'a str,
    /// The Action.
    pub slug: &'a str,
    /// The major to follow; `None`: the most recently published one.
    pub major: Option<i64>,
    /// `None`: the end of the slot.
    pub position: Option<i64>,
    /// Config, JSON.
    pub config: &'a str,
    /// Whether a failure lets the flow carry on.
    pub fail_open: bool,
    /// What a run may use; `None` (or all zeros): the runner's defaults.
    /// Checked against the operator's ceilings by the caller.
    pub limits: Option<&'a Limits>,
}

/// What an update changes; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct BindingChanges {
    /// Follow another major (it must have a live version).
    pub major: Option<i64>,
    /// The failure policy.
    pub fail_open: Option<bool>,
    /// Replaces every limit (all zeros: back to the runner's defaults).
    /// Checked against the operator's ceilings by the caller.
    pub limits: Option<Limits>,
}

impl Store {
    /// Every binding of a tenant, in slot order.
    pub async fn bindings(&self, tenant: &str) -> Result<Vec<StoredBinding>, Error> {
        bindings_of(self.pool(), tenant, None).await
    }

    /// Every tenant's bindings (in slot order), every tenant listed even
    /// with none, and the flows revision they are at: what a runner that
    /// starts over is sent. One statement, so one consistent view on either
    /// database, whatever the number of tenants.
    pub async fn flows_snapshot(&self) -> Result<(u64, Vec<(String, Vec<StoredBinding>)>), Error> {
        use sqlx::{FromRow as _, Row as _};
        let rows = sqlx::query(sql(format!(
            "SELECT r.revision, t.id AS tenant, {RESOLVED_COLUMNS} \
             FROM config_revision r \
             LEFT JOIN tenants t ON 1 = 1 \
             LEFT JOIN bindings b ON b.tenant_id = t.id \
             {RESOLVED_JOINS} \
             WHERE r.id = 1 ORDER BY t.id, b.trigger_name, b.position"
        )))
        .fetch_all(self.pool())
        .await?;
        let mut revision = 0;
        let mut tenants: Vec<(String, Vec<StoredBinding>)> = Vec::new();
        for row in &rows {
            revision = row.try_get::<i64, _>("revision")? as u64;
            let Some(tenant) = row.try_get::<Option<String>, _>("tenant")? else {
                continue;
            };
            if tenants.last().is_none_or(|(last, _)| *last != tenant) {
                tenants.push((tenant, Vec::new()));
            }
            if row.try_get::<Option<String>, _>("id")?.is_some() {
                let binding = StoredBinding::try_from(BindingRow::from_row(row)?)?;
                if let Some((_, bindings)) = tenants.last_mut() {
                    bindings.push(binding);
                }
            }
        }
        Ok((revision, tenants))
    }

    /// The live version of an Action's major, as a binding would run it.
    pub async fn live_version(
        &self,
        tenant: &str,
        slug: &str,
        major: Option<i64>,
    ) -> Result<Option<StoredVersion>, Error> {
        live_version(self.pool(), tenant, slug, major).await
    }

    /// Attaches an Action to a slot. `check` sees the live version the
    /// binding would run (in the same transaction) and may refuse.
    pub async fn attach(
        &self,
        tenant: &str,
        new: NewBinding<'_>,
        actor: &str,
        check: impl FnOnce(&StoredVersion) -> Result<(), Error>,
    ) -> Result<StoredBinding, Error> {
        let mut change = self.change_flows(tenant).await?;
        super::actions::require_action(change.tx(), tenant, new.slug).await?;
        let live = live_version(change.tx(), tenant, new.slug, new.major)
            .await?
            .ok_or_else(|| {
                Error::FailedPrecondition(match new.major {
                    Some(major) => format!(
                        "action {:?} has no published version of major {major}; publish one first",
                        new.slug
                    ),
                    None => format!(
                        "action {:?} has no published version; publish one first",
                        new.slug
                    ),
                })
            })?;
        check(&live)?;
        let len = slot_len(change.tx(), tenant, new.trigger).await?;
        if usize::try_from(len).is_ok_and(|len| len >= MAX_BINDINGS_PER_SLOT) {
            return Err(Error::FailedPrecondition(format!(
                "slot {} already has {len} bindings, the most a slot may hold \
                 ({MAX_BINDINGS_PER_SLOT}); detach one first",
                new.trigger
            )));
        }
        let position = new.position.map_or(len, |p| p.min(len));
        shift_from(change.tx(), tenant, new.trigger, position, 1).await?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO bindings (id, tenant_id, trigger_name, position, action_slug, major, \
             config, fail_open, created_at_ms, updated_at_ms, limits) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)",
        )
        .bind(new.id)
        .bind(tenant)
        .bind(new.trigger)
        .bind(position)
        .bind(new.slug)
        .bind(live.major)
        .bind(new.config)
        .bind(i64::from(new.fail_open))
        .bind(now)
        .bind(encoded(new.limits))
        .execute(change.tx())
        .await?;
        let mut details = serde_json::json!({
            "trigger": new.trigger,
            "action": new.slug,
            "major": live.major,
            "version": live.version,
            "position": position,
            "fail_open": new.fail_open,
        });
        if kept(new.limits).is_some() {
            details["limits"] = limits_json(new.limits);
        }
        append(
            change.tx(),
            AuditEntry {
                tenant,
                kind: "flow.binding_added",
                actor,
                subject: new.id,
                details,
            },
        )
        .await?;
        let stored = binding_by_id(change.tx(), tenant, new.id).await?;
        change.commit().await?;
        Ok(stored)
    }

    /// Moves a binding to `position` in its slot (the end when past it).
    pub async fn move_binding(
        &self,
        tenant: &str,
        id: &str,
        position: i64,
        actor: &str,
    ) -> Result<StoredBinding, Error> {
        let mut change = self.change_flows(tenant).await?;
        let current = binding_by_id(change.tx(), tenant, id).await?;
        let trigger = current.trigger_name.as_str();
        // Take it out, close the gap, open one at the new place, put it back.
        sqlx::query("UPDATE bindings SET position = -1 WHERE id = $1")
            .bind(id)
            .execute(change.tx())
            .await?;
        shift_from(change.tx(), tenant, trigger, current.position + 1, -1).await?;
        let len = slot_len(change.tx(), tenant, trigger).await? - 1;
        let position = position.min(len);
        shift_from(change.tx(), tenant, trigger, position, 1).await?;
        sqlx::query("UPDATE bindings SET position = $1, updated_at_ms = $2 WHERE id = $3")
            .bind(position)
            .bind(now_ms())
            .bind(id)
            .execute(change.tx())
            .await?;
        append(
            change.tx(),
            AuditEntry {
                tenant,
                kind: "flow.binding_moved",
                actor,
                subject: id,
                details: serde_json::json!({
                    "trigger": trigger,
                    "from": current.position,
                    "to": position,
                }),
            },
        )
        .await?;
        let stored = binding_by_id(change.tx(), tenant, id).await?;
        change.commit().await?;
        Ok(stored)
    }

    /// Changes a binding's config, failure policy, major or limits. `check`
    /// sees the binding as it is and the live version it would run, and
    /// returns the config to store.
    pub async fn update_binding(
        &self,
        tenant: &str,
        id: &str,
        changes: BindingChanges,
        actor: &str,
        check: impl FnOnce(&StoredBinding, &StoredVersion) -> Result<String, Error>,
    ) -> Result<StoredBinding, Error> {
        let mut change = self.change_flows(tenant).await?;
        let current = binding_by_id(change.tx(), tenant, id).await?;
        let major = changes.major.unwrap_or(current.major);
        let live = live_version(change.tx(), tenant, &current.action_slug, Some(major))
            .await?
            .ok_or_else(|| {
                Error::FailedPrecondition(format!(
                    "action {:?} has no published version of major {major}; publish one first",
                    current.action_slug
                ))
            })?;
        let config = check(&current, &live)?;
        let fail_open = changes.fail_open.unwrap_or(current.fail_open != 0);
        let limits = match &changes.limits {
            Some(asked) => kept(Some(asked)),
            None => current.limits.as_ref(),
        };
        sqlx::query(
            "UPDATE bindings SET config = $1, fail_open = $2, major = $3, limits = $4, \
             updated_at_ms = $5 WHERE id = $6 AND tenant_id = $7",
        )
        .bind(&config)
        .bind(i64::from(fail_open))
        .bind(major)
        .bind(encoded(limits))
        .bind(now_ms())
        .bind(id)
        .bind(tenant)
        .execute(change.tx())
        .await?;
        let mut details = serde_json::json!({
            "trigger": current.trigger_name,
            "action": current.action_slug,
            "major": { "from": current.major, "to": major },
            "fail_open": { "from": current.fail_open != 0, "to": fail_open },
            "config_changed": config != current.config,
        });
        // Both sides, so that the audit can show what the change did.
        if config != current.config {
            details["config_before"] = config_value(&current.config);
            details["config"] = config_value(&config);
        }
        if current.limits.is_some() || limits.is_some() {
            details["limits"] = serde_json::json!({
                "from": limits_json(current.limits.as_ref()),
                "to": limits_json(limits),
            });
        }
        append(
            change.tx(),
            AuditEntry {
                tenant,
                kind: "flow.binding_changed",
                actor,
                subject: id,
                details,
            },
        )
        .await?;
        let stored = binding_by_id(change.tx(), tenant, id).await?;
        change.commit().await?;
        Ok(stored)
    }

    /// Removes a binding from its slot.
    pub async fn detach(&self, tenant: &str, id: &str, actor: &str) -> Result<(), Error> {
        let mut change = self.change_flows(tenant).await?;
        let current = binding_by_id(change.tx(), tenant, id).await?;
        sqlx::query("DELETE FROM bindings WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant)
            .execute(change.tx())
            .await?;
        shift_from(
            change.tx(),
            tenant,
            &current.trigger_name,
            current.position + 1,
            -1,
        )
        .await?;
        append(
            change.tx(),
            AuditEntry {
                tenant,
                kind: "flow.binding_removed",
                actor,
                subject: id,
                details: serde_json::json!({
                    "trigger": current.trigger_name,
                    "action": current.action_slug,
                    "position": current.position,
                }),
            },
        )
        .await?;
        change.commit().await?;
        Ok(())
    }
}
