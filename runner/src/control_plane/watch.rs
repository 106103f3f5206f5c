//! Flows from the control plane: a snapshot, then every change, over
//! `RunnerSync.WatchFlows`. A runner that reconnects resumes after the last
//! revision it applied.

use super::{ControlPlaneLink, FlowsTarget, SyncError, modules};
use crate::flows::{Binding, FlowSnapshot, TenantFlows};
use actions_proto::catalog::{Trigger, UnknownTrigger};
use actions_proto::controlplane::v1::{self as cp, WatchFlowsRequest, flows_update::Update};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Watches the control plane for as long as the runner lives.
pub async fn watch_forever(target: Arc<dyn FlowsTarget>, control_plane: ControlPlaneLink) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match watch_once(&target, &control_plane, &mut backoff).await {
            Ok(()) => tracing::info!("flows stream ended; reconnecting"),
            Err(error) => {
                tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "flows stream interrupted; serving the last applied flows")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn watch_once(
    target: &Arc<dyn FlowsTarget>,
    control_plane: &ControlPlaneLink,
    backoff: &mut Duration,
) -> Result<(), SyncError> {
    let mut client = control_plane.connect().await?;
    let mut updates = client
        .watch_flows(WatchFlowsRequest {
            runner_id: target.runner_id().to_owned(),
            after_revision: target.current_snapshot().revision,
            plugin_id: actions_plugin_host::plugin_id().to_owned(),
        })
        .await?
        .into_inner();
    // A snapshot sent in parts is gathered here and served only once whole.
    let mut gathering: Option<FlowSnapshot> = None;
    while let Some(update) = updates.message().await? {
        let revision = update.revision;
        let next = match update.update {
            Some(Update::SnapshotPart(part)) => {
                let pending = if part.first {
                    gathering.insert(FlowSnapshot::empty())
                } else {
                    gathering.as_mut().ok_or_else(|| {
                        SyncError::Invalid("a snapshot part before the first one".into())
                    })?
                };
                for tenant in part.tenants {
                    let (name, flows) = tenant_flows(tenant);
                    pending.tenants.insert(name, flows);
                }
                if !part.last {
                    continue;
                }
                let mut whole = gathering.take().unwrap_or_else(FlowSnapshot::empty);
                whole.revision = revision;
                whole
            }
            other => apply(
                &target.current_snapshot(),
                cp::FlowsUpdate {
                    revision,
                    update: other,
                },
            )?,
        };
        modules::fetch_missing(&mut client, &next, target.modules_dir()).await?;
        let applying = Arc::clone(target);
        tokio::task::spawn_blocking(move || applying.install(next))
            .await
            .map_err(|e| SyncError::Invalid(e.to_string()))??;
        // Only an applied update proves the link healthy: one that keeps
        // failing must not retry at full speed.
        *backoff = Duration::from_millis(100);
        tracing::info!(revision, "flows applied");
    }
    Ok(())
}

/// The snapshot after `update`.
fn apply(current: &FlowSnapshot, update: cp::FlowsUpdate) -> Result<FlowSnapshot, SyncError> {
    let mut next = match &update.update {
        Some(Update::Snapshot(_)) => FlowSnapshot::empty(),
        _ => current.clone(),
    };
    next.revision = update.revision;
    match update.update {
        Some(Update::Snapshot(snapshot)) => {
            for tenant in snapshot.tenants {
                let (name, flows) = tenant_flows(tenant);
                next.tenants.insert(name, flows);
            }
        }
        Some(Update::Tenant(tenant)) => {
            let (name, flows) = tenant_flows(tenant);
            next.tenants.insert(name, flows);
        }
        Some(Update::TenantRemoved(name)) => {
            next.tenants.remove(&name);
        }
        Some(Update::SnapshotPart(_)) | None => {
            return Err(SyncError::Invalid(
                "an update with nothing this runner can apply".into(),
            ));
        }
    }
    Ok(next)
}

/// A tenant's flows from the wire. What this runner cannot use fails alone
/// and never the update: a slot of a trigger it does not know (a newer
/// control plane) is left out, and a binding it cannot read (its config is
/// not JSON) keeps its place but names no module, so it fails at run time
/// as its policy says, like a binding whose module does not load.
fn tenant_flows(tenant: cp::TenantFlows) -> (String, TenantFlows) {
    let mut slots = BTreeMap::new();
    for slot in tenant.slots {
        let trigger: Trigger = match slot.trigger.parse() {
            Ok(trigger) => trigger,
            Err(error) => {
                let error: UnknownTrigger = error;
                tracing::warn!(tenant = %tenant.tenant, %error, "a slot this runner cannot serve is left out");
                continue;
            }
        };
        let bindings = slot
            .bindings
            .into_iter()
            .map(|wire| {
                let id = wire.id.clone();
                let (slug, version) = (wire.action_slug.clone(), wire.action_version.clone());
                Binding::from_wire(&tenant.tenant, wire).unwrap_or_else(|error| {
                    tracing::warn!(tenant = %tenant.tenant, binding = %id, %error, "a binding this runner cannot read fails as its policy says");
                    Binding::unreadable(id, slug, version)
                })
            })
            .collect();
        slots.insert(trigger, bindings);
    }
    (tenant.tenant, TenantFlows { slots })
}
