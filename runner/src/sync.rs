//! Flows from the control plane: a snapshot, then every change, over
//! `RunnerSync.WatchFlows`; modules fetched by hash (`FetchModule`) into the
//! modules folder, which doubles as the on-disk cache. When the control plane
//! is unreachable the runner keeps serving what it last applied and
//! reconnects with backoff, resuming after the last revision it applied.

use crate::flows::{Binding, FlowSnapshot, TenantFlows};
use crate::{RunLimits, Trigger};
use actions_proto::controlplane::v1::{
    self as cp, FetchModuleRequest, WatchFlowsRequest, flows_update::Update,
    runner_sync_client::RunnerSyncClient,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::{Interceptor, interceptor::InterceptedService};
use tonic::transport::Channel;

use crate::service::RunnerState;

/// Why an update could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The control plane could not be reached or broke the stream.
    #[error("control plane: {0}")]
    Transport(String),
    /// The update names something this runner cannot use.
    #[error("update refused: {0}")]
    Invalid(String),
}

impl From<tonic::Status> for SyncError {
    fn from(status: tonic::Status) -> Self {
        SyncError::Transport(format!("{:?}: {}", status.code(), status.message()))
    }
}

impl From<tonic::transport::Error> for SyncError {
    fn from(error: tonic::transport::Error) -> Self {
        SyncError::Transport(error.to_string())
    }
}

/// The control plane as this runner reaches it.
#[derive(Debug, Clone)]
pub struct ControlPlaneLink {
    /// e.g. `http://127.0.0.1:50051`.
    pub url: String,
    /// Presented on every RunnerSync call (empty: none).
    pub sync_token: String,
}

/// A RunnerSync client that presents the sync token.
pub type SyncClient = RunnerSyncClient<InterceptedService<Channel, SyncAuth>>;

/// Adds `authorization: Bearer <sync token>` to every call.
#[derive(Clone)]
pub struct SyncAuth(Option<MetadataValue<Ascii>>);

impl Interceptor for SyncAuth {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

impl ControlPlaneLink {
    /// Connects.
    pub async fn connect(&self) -> Result<SyncClient, SyncError> {
        let auth =
            if self.sync_token.is_empty() {
                None
            } else {
                Some(format!("Bearer {}", self.sync_token).parse().map_err(|_| {
                    SyncError::Invalid("sync_token is not a valid header value".into())
                })?)
            };
        let channel = tonic::transport::Endpoint::from_shared(self.url.clone())
            .map_err(|e| SyncError::Transport(format!("{}: {e}", self.url)))?
            .connect()
            .await?;
        Ok(RunnerSyncClient::with_interceptor(channel, SyncAuth(auth))
            .max_decoding_message_size(64 * 1024 * 1024))
    }
}

/// Watches the control plane for as long as the runner lives.
pub async fn watch_forever(state: Arc<RunnerState>, control_plane: ControlPlaneLink) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match watch_once(&state, &control_plane, &mut backoff).await {
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
    state: &Arc<RunnerState>,
    control_plane: &ControlPlaneLink,
    backoff: &mut Duration,
) -> Result<(), SyncError> {
    let mut client = control_plane.connect().await?;
    let mut updates = client
        .watch_flows(WatchFlowsRequest {
            runner_id: state.runner_id().to_owned(),
            after_revision: state.current_flows().snapshot.revision,
            plugin_id: actions_plugin::plugin_id().to_owned(),
        })
        .await?
        .into_inner();
    while let Some(update) = updates.message().await? {
        let revision = update.revision;
        let next = apply(&state.current_flows().snapshot, update)?;
        fetch_missing_modules(&mut client, &next, state.modules_dir()).await?;
        let applying = Arc::clone(state);
        tokio::task::spawn_blocking(move || applying.install(next))
            .await
            .map_err(|e| SyncError::Invalid(e.to_string()))?
            .map_err(|e| SyncError::Invalid(e.to_string()))?;
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
        Some(Update::Snapshot(_)) => FlowSnapshot {
            revision: 0,
            tenants: BTreeMap::new(),
        },
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
            .map_err(|e: crate::UnknownTrigger| SyncError::Invalid(e.to_string()))?;
        let bindings = slot
            .bindings
            .into_iter()
            .map(|b| binding(&tenant.tenant, b))
            .collect::<Result<Vec<_>, _>>()?;
        slots.insert(trigger, bindings);
    }
    Ok((tenant.tenant, TenantFlows { slots }))
}

/// A binding as the control plane sends it, as the runner runs it.
pub(crate) fn binding(tenant: &str, b: cp::Binding) -> Result<Binding, SyncError> {
    let config: Value = if b.config_json.trim().is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_str(&b.config_json).map_err(|e| {
            SyncError::Invalid(format!(
                "tenant {tenant}, binding {}: config_json: {e}",
                b.id
            ))
        })?
    };
    let defaults = RunLimits::default();
    let limits = b.limits.map_or(defaults, |l| RunLimits {
        fuel: given_or(l.fuel, defaults.fuel),
        deadline_ms: given_or(l.deadline_ms, defaults.deadline_ms),
        memory_bytes: given_or(l.memory_bytes, defaults.memory_bytes),
        log_bytes: given_or(l.log_bytes, defaults.log_bytes),
        fetch_calls: given_or(l.fetch_calls, defaults.fetch_calls),
        ..defaults
    });
    Ok(Binding {
        id: b.id,
        action_slug: b.action_slug,
        action_version: b.action_version,
        module_sha256: b.module_sha256,
        config,
        fail_open: b.fail_open,
        limits,
        secrets: serde_json::Map::new(),
    })
}

/// A limit from the wire, where 0 means "the runner's default".
fn given_or<T: PartialEq + Default>(value: T, default: T) -> T {
    if value == T::default() {
        default
    } else {
        value
    }
}

/// Fetches every module the snapshot names that the modules folder lacks.
async fn fetch_missing_modules(
    client: &mut SyncClient,
    snapshot: &FlowSnapshot,
    dir: &Path,
) -> Result<(), SyncError> {
    let wanted: std::collections::BTreeSet<&str> = snapshot
        .tenants
        .values()
        .flat_map(|t| t.slots.values().flatten())
        .map(|b| b.module_sha256.as_str())
        .collect();
    for sha256 in wanted {
        fetch_module(client, sha256, dir).await?;
    }
    Ok(())
}

/// Makes sure `<dir>/<sha256>.wasm` exists, fetching it by hash when it
/// does not; its hash is checked before it is written.
pub(crate) async fn fetch_module(
    client: &mut SyncClient,
    sha256: &str,
    dir: &Path,
) -> Result<(), SyncError> {
    let path = dir.join(format!("{sha256}.wasm"));
    if path.is_file() {
        return Ok(());
    }
    let module = client
        .fetch_module(FetchModuleRequest {
            sha256: sha256.to_owned(),
        })
        .await?
        .into_inner();
    let actual = hex::encode(Sha256::digest(&module.wasm));
    if actual != sha256 {
        return Err(SyncError::Invalid(format!(
            "module {sha256} arrived with sha256 {actual}"
        )));
    }
    let temporary = dir.join(format!(".{sha256}.tmp"));
    std::fs::write(&temporary, &module.wasm)
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(|e| SyncError::Invalid(format!("writing {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_limits_on_the_wire_mean_the_default() {
        let wire = cp::Binding {
            id: "b".into(),
            config_json: r#"{"a":1}"#.into(),
            limits: Some(cp::Limits {
                deadline_ms: 100,
                ..cp::Limits::default()
            }),
            ..cp::Binding::default()
        };
        let converted = binding("acme", wire).expect("valid");
        assert_eq!(converted.limits.deadline_ms, 100);
        assert_eq!(converted.limits.fuel, RunLimits::default().fuel);
        assert_eq!(converted.config, serde_json::json!({ "a": 1 }));
        let broken = cp::Binding {
            config_json: "{".into(),
            ..cp::Binding::default()
        };
        assert!(matches!(
            binding("acme", broken),
            Err(SyncError::Invalid(_))
        ));
    }
}
