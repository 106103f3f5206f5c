//! `RunnerSync`: flows and modules out to the runners, run records back.

use super::convert;
use crate::{ControlPlane, Error};
use actions_proto::catalog::Trigger;
use actions_proto::controlplane::v1::{
    self as pb, flows_update::Update, runner_sync_server::RunnerSync,
};
use actions_proto::sizes::SNAPSHOT_PART_BYTES;
use prost::Message as _;
use std::sync::Arc;
use std::time::Duration;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// The `RunnerSync` service.
pub struct RunnerSyncApi {
    cp: Arc<ControlPlane>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl RunnerSyncApi {
    /// Serves `cp`; streams end when `stopping` turns true.
    pub fn new(cp: Arc<ControlPlane>, stopping: tokio::sync::watch::Receiver<bool>) -> Self {
        Self { cp, stopping }
    }
}

/// How often a watch looks for changes it was not woken for.
const WATCH_POLL: Duration = Duration::from_secs(1);
/// Most pushed run records stored in one transaction.
const MAX_RECORDS_PER_COMMIT: usize = 256;

/// A tenant's flows as runners run them, with its Actions' secrets.
async fn tenant_flows(cp: &ControlPlane, tenant: &str) -> Result<pb::TenantFlows, Error> {
    let bindings = cp.store.bindings(tenant).await?;
    let secrets = cp.tenant_secret_values(tenant).await?;
    Ok(convert::runner_flows(
        tenant.to_owned(),
        &bindings,
        &secrets,
    ))
}

/// Every tenant's flows at one revision (one query, consistent by itself),
/// as the updates that carry it: parts of whole tenants, each about
/// [`SNAPSHOT_PART_BYTES`] (a tenant larger than that alone goes alone), so
/// that no tenant's flows, however large, make the snapshot too large to
/// send and so keep every other tenant's changes from the runners.
///
/// Secrets are read after the flows: one set in between is in both this
/// snapshot and the update of its revision that follows, never in neither.
async fn snapshot(cp: &ControlPlane) -> Result<(u64, Vec<pb::FlowsUpdate>), Error> {
    let (revision, tenants) = cp.store.flows_snapshot().await?;
    let mut secrets = cp.every_secret_value().await?;
    let tenants: Vec<pb::TenantFlows> = tenants
        .into_iter()
        .map(|(tenant, bindings)| {
            let values = secrets.remove(&tenant).unwrap_or_default();
            convert::runner_flows(tenant, &bindings, &values)
        })
        .collect();
    Ok((
        revision,
        snapshot_parts(revision, tenants, SNAPSHOT_PART_BYTES),
    ))
}

/// `tenants` in parts of about `part_bytes`, the first marked first and the
/// last marked last (one empty part when there is no tenant).
fn snapshot_parts(
    revision: u64,
    tenants: Vec<pb::TenantFlows>,
    part_bytes: usize,
) -> Vec<pb::FlowsUpdate> {
    let mut parts: Vec<Vec<pb::TenantFlows>> = vec![Vec::new()];
    let mut filled = 0;
    for tenant in tenants {
        let size = tenant.encoded_len();
        let current = parts.last_mut().expect("there is always a part");
        if !current.is_empty() && filled + size > part_bytes {
            parts.push(Vec::new());
            filled = 0;
        }
        filled += size;
        parts
            .last_mut()
            .expect("there is always a part")
            .push(tenant);
    }
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(index, tenants)| pb::FlowsUpdate {
            revision,
            update: Some(Update::SnapshotPart(pb::SnapshotPart {
                tenants,
                first: index == 0,
                last: index + 1 == count,
            })),
        })
        .collect()
}

#[tonic::async_trait]
impl RunnerSync for RunnerSyncApi {
    type WatchFlowsStream = ReceiverStream<Result<pb::FlowsUpdate, Status>>;

    async fn watch_flows(
        &self,
        request: Request<pb::WatchFlowsRequest>,
    ) -> Result<Response<Self::WatchFlowsStream>, Status> {
        let caller = self
            .cp
            .secrets
            .runner(&self.cp.store, request.metadata())
            .await?;
        let r = request.into_inner();
        let cp = Arc::clone(&self.cp);
        let store = self.cp.store.clone();
        let revoked = super::until_revoked(store.clone(), self.cp.revocations(), caller.token_id);
        let current = store.current_revision().await?;
        tracing::info!(runner = %r.runner_id, plugin = %r.plugin_id, after = r.after_revision, current, "runner watching flows");
        // Modules are compiled for this control plane's plugin build; a
        // runner with another one refuses every one of them. Said here, at
        // the start, rather than once per module on the runner's side.
        let compiled_for = actions_plugin_host::plugin_id();
        if !r.plugin_id.is_empty() && r.plugin_id != compiled_for {
            tracing::warn!(
                runner = %r.runner_id,
                runner_plugin = %r.plugin_id,
                compiled_for,
                "a runner with another plugin build is watching: it will refuse the modules compiled here"
            );
        }
        let (sender, receiver) = tokio::sync::mpsc::channel(16);
        let mut stopping = self.stopping.clone();
        tokio::spawn(async move {
            tokio::pin!(revoked);
            let mut revision = r.after_revision;
            // A runner that is new, or ahead of this database (it was reset), starts over.
            if revision == 0 || revision > current {
                match snapshot(&cp).await {
                    Ok((at, parts)) => {
                        revision = at;
                        for part in parts {
                            if sender.send(Ok(part)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(error) => {
                        let _ = sender.send(Err(error.into())).await;
                        return;
                    }
                }
            }
            let mut watch = store.watch_revision();
            loop {
                match store.changes_after(revision).await {
                    Ok(changes) => {
                        for (at, tenant) in changes {
                            let update = match tenant_flows(&cp, &tenant).await {
                                Ok(flows) => Ok(pb::FlowsUpdate {
                                    revision: at,
                                    update: Some(Update::Tenant(flows)),
                                }),
                                Err(error) => Err(Status::from(error)),
                            };
                            let failed = update.is_err();
                            if sender.send(update).await.is_err() || failed {
                                return;
                            }
                            revision = revision.max(at);
                        }
                    }
                    Err(error) => {
                        let _ = sender.send(Err(error.into())).await;
                        return;
                    }
                }
                tokio::select! {
                    _ = watch.changed() => {}
                    _ = tokio::time::sleep(WATCH_POLL) => {}
                    _ = sender.closed() => return,
                    () = &mut revoked => {
                        let _ = sender.send(Err(super::revoked())).await;
                        return;
                    }
                    () = super::until_stopping(&mut stopping) => {
                        let _ = sender.send(Err(super::shutting_down())).await;
                        return;
                    }
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn fetch_module(
        &self,
        request: Request<pb::FetchModuleRequest>,
    ) -> Result<Response<pb::Module>, Status> {
        self.cp
            .secrets
            .runner(&self.cp.store, request.metadata())
            .await?;
        let sha256 = request.into_inner().sha256;
        let (plugin_id, wasm) = self
            .cp
            .store
            .module(&sha256)
            .await?
            .ok_or_else(|| Error::NotFound(format!("module {sha256:?}")))?;
        Ok(Response::new(pb::Module {
            sha256,
            plugin_id,
            wasm,
        }))
    }

    type PushRunRecordsStream = ReceiverStream<Result<pb::RunRecordAck, Status>>;

    async fn push_run_records(
        &self,
        request: Request<Streaming<pb::RunRecord>>,
    ) -> Result<Response<Self::PushRunRecordsStream>, Status> {
        let caller = self
            .cp
            .secrets
            .runner(&self.cp.store, request.metadata())
            .await?;
        let mut records = request.into_inner();
        let store = self.cp.store.clone();
        let revoked = super::until_revoked(store.clone(), self.cp.revocations(), caller.token_id);
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            tokio::pin!(revoked);
            // Whatever has arrived is stored in one transaction, then acked.
            loop {
                let first = tokio::select! {
                    next = records.next() => next,
                    () = &mut revoked => {
                        let _ = sender.send(Err(super::revoked())).await;
                        return;
                    }
                };
                let Some(first) = first else { break };
                let mut batch = vec![first];
                while batch.len() < MAX_RECORDS_PER_COMMIT {
                    match futures::FutureExt::now_or_never(records.next()) {
                        Some(Some(next)) => batch.push(next),
                        _ => break,
                    }
                }
                let mut received = Vec::with_capacity(batch.len());
                let mut broken = None;
                for record in batch {
                    match record {
                        Ok(record) => received.push(record),
                        Err(status) => {
                            broken = Some(status);
                            break;
                        }
                    }
                }
                let flows: Vec<&str> = received
                    .iter()
                    .map(|r| {
                        r.trigger
                            .parse::<Trigger>()
                            .map(|t| t.flow().as_str())
                            .unwrap_or("")
                    })
                    .collect();
                let pairs: Vec<(&pb::RunRecord, &str)> =
                    received.iter().zip(flows.iter().copied()).collect();
                if let Err(error) = store.store_runs(&pairs).await {
                    // Not acknowledged: the runner keeps them and sends them again.
                    // The detail is logged with the answer's reference.
                    tracing::warn!(records = pairs.len(), "run records not stored");
                    let _ = sender.send(Err(error.into())).await;
                    return;
                }
                for record in &received {
                    let ack = pb::RunRecordAck {
                        run_id: record.run_id().to_owned(),
                    };
                    if sender.send(Ok(ack)).await.is_err() {
                        return;
                    }
                }
                if let Some(status) = broken {
                    tracing::warn!(%status, "run record stream broke");
                    // The runner learns which record was refused (the first
                    // not acknowledged) and why, and sets it aside.
                    let _ = sender.send(Err(status)).await;
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(name: &str, config_bytes: usize) -> pb::TenantFlows {
        pb::TenantFlows {
            tenant: name.into(),
            slots: vec![pb::Slot {
                trigger: "login.post-login".into(),
                bindings: vec![actions_proto::runner::v1::Binding {
                    config_json: "x".repeat(config_bytes),
                    ..Default::default()
                }],
            }],
        }
    }

    fn tenants_of(update: &pb::FlowsUpdate) -> (Vec<String>, bool, bool) {
        match &update.update {
            Some(Update::SnapshotPart(part)) => (
                part.tenants.iter().map(|t| t.tenant.clone()).collect(),
                part.first,
                part.last,
            ),
            other => panic!("not a snapshot part: {other:?}"),
        }
    }

    #[test]
    fn a_snapshot_goes_in_parts_of_whole_tenants() {
        let tenants = vec![
            tenant("a", 400),
            tenant("b", 400),
            tenant("huge", 5_000),
            tenant("c", 10),
        ];
        let parts = snapshot_parts(7, tenants, 1_000);
        let seen: Vec<_> = parts.iter().map(tenants_of).collect();
        assert_eq!(
            seen,
            vec![
                (vec!["a".to_owned(), "b".to_owned()], true, false),
                (vec!["huge".to_owned()], false, false),
                (vec!["c".to_owned()], false, true),
            ]
        );
        assert!(parts.iter().all(|p| p.revision == 7));
    }

    #[test]
    fn no_tenant_is_one_empty_part_first_and_last() {
        let parts = snapshot_parts(3, Vec::new(), 1_000);
        assert_eq!(parts.len(), 1);
        assert_eq!(tenants_of(&parts[0]), (Vec::new(), true, true));
    }
}
