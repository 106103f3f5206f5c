//! The runner's server: the `Execution` API with health and reflection on a
//! socket, and the background work that feeds it (the flows file, the
//! control plane's flows, the record pusher), until shutdown; calls in
//! flight then finish and the spool is sealed.

use super::ExecutionService;
use crate::control_plane::{ControlPlaneLink, FlowsTarget, push, watch};
use crate::error::RunnerError;
use crate::flows_file;
use crate::state::RunnerState;
use actions_proto::runner::v1::execution_server::ExecutionServer;
use actions_proto::serving::{incoming_nodelay, server_base};
use std::future::Future;
use std::sync::Arc;

/// Serves on `listener` until `shutdown` completes; in-flight calls then
/// finish before this returns.
pub async fn serve(
    state: Arc<RunnerState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RunnerError> {
    let address = listener
        .local_addr()
        .map_err(|e| RunnerError::Config(format!("the listener's address: {e}")))?;
    let settings = state.settings();
    actions_proto::bearer::check_serving(
        &settings.missing_tokens(),
        settings.insecure_no_auth,
        address,
    )?;
    let base = server_base(
        tonic::transport::Server::builder(),
        tonic::service::Routes::default(),
    )
    .map_err(|e| RunnerError::Config(e.to_string()))?;
    base.health
        .set_serving::<ExecutionServer<ExecutionService>>()
        .await;
    let execution = ExecutionServer::new(ExecutionService::new(Arc::clone(&state)))
        .max_decoding_message_size(state.settings().max_request_bytes);

    let mut background = Vec::new();
    if state.settings().flows_file.is_some() {
        background.push(tokio::spawn(flows_file::watch(Arc::clone(&state))));
    }
    if let Some(control_plane) = ControlPlaneLink::from_settings(state.settings()) {
        let target: Arc<dyn FlowsTarget> = Arc::clone(&state) as Arc<dyn FlowsTarget>;
        background.push(tokio::spawn(watch::watch_forever(
            target,
            control_plane.clone(),
        )));
        if let Some(spool) = &state.spool {
            background.push(tokio::spawn(push::push_forever(
                Arc::clone(spool),
                control_plane,
            )));
        }
    }
    let served = base
        .router
        .add_service(execution)
        .serve_with_incoming_shutdown(incoming_nodelay(listener), shutdown)
        .await;
    // Whatever is not pushed yet stays in the spool for the next start.
    for task in background {
        task.abort();
    }
    if let Some(spool) = state.spool.clone() {
        let _ = tokio::task::spawn_blocking(move || spool.close()).await;
    }
    served.map_err(|e| RunnerError::Config(format!("serving: {e}")))
}
