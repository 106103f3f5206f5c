//! The gRPC services, one module each, and the server that carries them.

mod actions;
mod audit;
mod convert;
mod flows;
mod runner_sync;
mod secrets;
mod tenants;
mod test_runs;

pub use actions::ActionsApi;
pub use audit::AuditApi;
pub use flows::FlowsApi;
pub use runner_sync::RunnerSyncApi;
pub use secrets::SecretsApi;
pub use tenants::{OPERATOR, TenantsApi};
pub use test_runs::TestRunsApi;

use crate::console::with_grpc_web;
use crate::{ControlPlane, Error};
use actions_proto::controlplane::v1::{
    actions_server::ActionsServer, audit_server::AuditServer, flows_server::FlowsServer,
    runner_sync_server::RunnerSyncServer, secrets_server::SecretsServer,
    tenants_server::TenantsServer, tests_server::TestsServer,
};
use std::sync::Arc;

use actions_proto::sizes::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};

/// What open streams (WatchFlows, Tail) end with when the control plane stops.
fn shutting_down() -> tonic::Status {
    tonic::Status::unavailable("the control plane is shutting down; reconnect")
}

/// How often a stream asks the store whether the token that opened it
/// still stands (a revocation on this replica ends it at once; on another,
/// within this).
const TOKEN_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// How a stream ends when the token that opened it is revoked.
fn revoked() -> tonic::Status {
    tonic::Status::from(Error::Unauthenticated(
        "the token that opened this stream was revoked".into(),
    ))
}

/// Resolves once the token `token_id` is revoked: announced on this
/// replica, or found revoked in the store (another replica's revocation,
/// or announcements missed). Never, for `None` (the shared sync token).
async fn until_revoked(
    store: crate::store::Store,
    mut revocations: tokio::sync::broadcast::Receiver<String>,
    token_id: Option<String>,
) {
    use tokio::sync::broadcast::error::RecvError;
    let Some(token_id) = token_id else {
        return std::future::pending().await;
    };
    let mut recheck = tokio::time::interval(TOKEN_RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let look = tokio::select! {
            announced = revocations.recv() => match announced {
                Ok(revoked) if revoked == token_id => return,
                Ok(_) => false,
                Err(RecvError::Lagged(_)) => true,
                // The control plane is going away; its stop ends the stream.
                Err(RecvError::Closed) => return std::future::pending().await,
            },
            _ = recheck.tick() => true,
        };
        // A store that cannot answer keeps the stream: an outage must not
        // end every stream, and a revocation is found once it answers.
        if look && !store.token_is_live(&token_id).await.unwrap_or(true) {
            return;
        }
    }
}

/// Resolves once the server is stopping (never, if it cannot tell).
async fn until_stopping(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    while !*stopping.borrow_and_update() {
        if stopping.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Serves every service of `cp` on `listener` until `shutdown`, then lets
/// calls in flight finish.
pub async fn serve(
    cp: Arc<ControlPlane>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let address = listener
        .local_addr()
        .map_err(|e| Error::Config(format!("the listener's address: {e}")))?;
    cp.secrets.check_serving(address)?;
    // Streams (WatchFlows, Tail) never end on their own: they end when this
    // turns true, so that a graceful shutdown does not wait on them and
    // runners reconnect to another replica at once.
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    // HTTP/1.1 for the console in a browser (its files and gRPC-Web); HTTP/2
    // gRPC clients (the CLI, runners, auth backends) are served as before.
    macro_rules! sized {
        ($server:expr) => {
            $server
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_RESPONSE_BYTES)
        };
    }
    let mut router = crate::console::router(cp.console_dir());
    router = with_grpc_web(
        router,
        sized!(TenantsServer::new(TenantsApi::new(Arc::clone(&cp)))),
    );
    router = with_grpc_web(
        router,
        sized!(ActionsServer::new(ActionsApi::new(Arc::clone(&cp)))),
    );
    router = with_grpc_web(
        router,
        sized!(SecretsServer::new(SecretsApi::new(Arc::clone(&cp)))),
    );
    router = with_grpc_web(
        router,
        sized!(FlowsServer::new(FlowsApi::new(Arc::clone(&cp)))),
    );
    router = with_grpc_web(
        router,
        sized!(TestsServer::new(TestRunsApi::new(Arc::clone(&cp)))),
    );
    router = with_grpc_web(
        router,
        sized!(AuditServer::new(AuditApi::new(
            Arc::clone(&cp),
            stopped.clone()
        ))),
    );
    // Runners speak gRPC only.
    let routes = tonic::service::Routes::from(router).add_service(sized!(RunnerSyncServer::new(
        RunnerSyncApi::new(cp, stopped)
    )));
    let base = actions_proto::serving::server_base(
        tonic::transport::Server::builder().accept_http1(true),
        routes,
    )
    .map_err(|e| Error::Config(e.to_string()))?;
    base.health.set_serving::<ActionsServer<ActionsApi>>().await;
    base.health
        .set_serving::<RunnerSyncServer<RunnerSyncApi>>()
        .await;
    base.router
        .serve_with_incoming_shutdown(actions_proto::serving::incoming_nodelay(listener), shutdown)
        .await
        .map_err(|e| Error::Config(format!("serving: {e}")))
}
