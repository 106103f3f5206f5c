//! From what the store holds to what the API answers.

use crate::TenantSecretValues;
use crate::store::{
    ActionSummary, StoredAuditEvent, StoredBinding, StoredTenant, StoredToken, StoredVersion,
};
use actions_proto::controlplane::v1 as pb;
use actions_proto::manifest::SecretDeclaration;
use std::collections::BTreeMap;

pub fn tenant(t: StoredTenant) -> pb::Tenant {
    pb::Tenant {
        id: t.id,
        name: t.name,
        created_at_ms: t.created_at_ms as u64,
    }
}

pub fn token(t: StoredToken) -> pb::TokenInfo {
    pb::TokenInfo {
        id: t.id,
        tenant: t.tenant_id,
        name: t.name,
        created_at_ms: t.created_at_ms as u64,
        revoked_at_ms: t.revoked_at_ms as u64,
    }
}

pub fn version(v: StoredVersion) -> pb::Version {
    pb::Version {
        triggers: v.trigger_names(),
        secrets: v
            .secret_declarations()
            .into_iter()
            .map(secret_declaration)
            .collect(),
        slug: v.slug,
        version: v.version,
        config_schema_json: v.config_schema,
        module_sha256: v.module_sha256,
        plugin_id: v.plugin_id,
        wasm_bytes: v.wasm_bytes as u64,
        created_at_ms: v.created_at_ms as u64,
        created_by: v.created_by,
        live: v.live != 0,
        published_at_ms: v.published_at_ms as u64,
    }
}

pub fn secret_declaration(d: SecretDeclaration) -> pb::SecretDeclaration {
    pb::SecretDeclaration {
        name: d.name,
        description: d.description,
    }
}

pub fn action(a: ActionSummary) -> pb::Action {
    pb::Action {
        slug: a.action.slug,
        name: a.action.name,
        triggers: a.latest_triggers,
        latest_version: a.latest_version,
        live_versions: a.live_versions,
        created_at_ms: a.action.created_at_ms as u64,
        bindings: a.bindings,
    }
}

pub fn binding(b: StoredBinding) -> pb::SlotBinding {
    pb::SlotBinding {
        id: b.id,
        trigger: b.trigger_name,
        position: b.position as u32,
        action_slug: b.action_slug,
        major: b.major as u64,
        version: b.version,
        config_json: b.config,
        fail_open: b.fail_open != 0,
        created_at_ms: b.created_at_ms as u64,
        updated_at_ms: b.updated_at_ms as u64,
        limits: b.limits,
    }
}

/// A tenant's flows as runners run them: the bindings that have a live
/// version, slot by slot (slots by name, bindings in slot order), each with
/// its Action's secrets.
pub fn runner_flows(
    tenant: String,
    bindings: &[StoredBinding],
    secrets: &TenantSecretValues,
) -> pb::TenantFlows {
    let mut slots: BTreeMap<&str, Vec<actions_proto::runner::v1::Binding>> = BTreeMap::new();
    for binding in bindings.iter().filter(|b| !b.module_sha256.is_empty()) {
        slots
            .entry(&binding.trigger_name)
            .or_default()
            .push(runner_binding(binding, secrets));
    }
    pb::TenantFlows {
        tenant,
        slots: slots
            .into_iter()
            .map(|(trigger, bindings)| pb::Slot {
                trigger: trigger.to_owned(),
                bindings,
            })
            .collect(),
    }
}

/// What runners run for a binding, with its limits (`None`: the runner's
/// defaults) and its Action's secrets. An Action one of whose secrets did
/// not open is sent with no module and failing closed: it must not run
/// without the secret, and its failure policy was written for failures of
/// its own.
pub fn runner_binding(
    b: &StoredBinding,
    secrets: &TenantSecretValues,
) -> actions_proto::runner::v1::Binding {
    let unopened = secrets.unopened(&b.action_slug);
    actions_proto::runner::v1::Binding {
        secrets: secrets
            .of(&b.action_slug)
            .filter(|_| !unopened)
            .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        module_sha256: if unopened {
            String::new()
        } else {
            b.module_sha256.clone()
        },
        fail_open: b.fail_open != 0 && !unopened,
        id: b.id.clone(),
        action_slug: b.action_slug.clone(),
        action_version: b.version.clone(),
        config_json: b.config.clone(),
        limits: b.limits,
    }
}

pub fn audit_event(e: StoredAuditEvent) -> pb::AuditEvent {
    pb::AuditEvent {
        seq: e.tenant_seq as u64,
        kind: e.kind,
        actor: e.actor,
        at_ms: e.at_ms as u64,
        subject: e.subject,
        details_json: e.details,
    }
}

/// Page sizes: 50 unless asked, never above 500.
pub fn page_size(asked: u32) -> u32 {
    match asked {
        0 => 50,
        n => n.min(500),
    }
}

/// A page token that is a sequence number or offset (empty: the start).
pub fn page_number(token: &str) -> Result<i64, crate::Error> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            crate::Error::Invalid(format!("page_token {token:?} is not one this API gave"))
        })
}
