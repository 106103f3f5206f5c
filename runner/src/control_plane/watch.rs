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
    while let Some(update) = updates.message().await? {
        let revision = update.revision;
        let next = apply(&target.current_snapshot(), update)?;
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
                let (name, flows) = tenant_flows(tenant)?;
                next.tenants.insert(name, flows);
            }
        }
        Some(Update::Tenant(tenant)) => {
            let (name, flows) = tenant_flows(tenant)?;
            next.tenants.insert(name, flows);
        }
        Some(Update::TenantRemoved(name)) => {
            next.tenants.remove(&name);
        }
        None => return Err(SyncError::Invalid("an update with nothing in it".into())),
    }
    Ok(next)
}

fn tenant_flows(tenant: cp::TenantFlows) -> Result<(String, TenantFlows), SyncError> {
    let mut slots = BTreeMap::new();
    for slot in tenant.slots {
        let trigger: Trigger = slot
            .trigger
            .parse()
            .map_err(|e: UnknownTrigger| SyncError::Invalid(e.to_string()))?;
        let bindings = slot
            .bindings
            .into_iter()
            .map(|b| Binding::from_wire(&tenant.tenant, b))
            .collect::<Result<Vec<_>, _>>()?;
        slots.insert(trigger, bindings);
    }
    Ok((tenant.tenant, TenantFlows { slots }))
}
