//! The gRPC services, one module each, and the server that carries them.

mod actions;
mod audit;
mod convert;
mod flows;
mod runner_sync;
mod tenants;
mod test_runs;

pub use actions::ActionsApi;
pub use audit::AuditApi;
pub use flows::FlowsApi;
pub use runner_sync::RunnerSyncApi;
pub use tenants::{OPERATOR, TenantsApi};
pub use test_runs::TestRunsApi;

use crate::console::with_grpc_web;
use crate::{ControlPlane, Error};
use actions_proto::controlplane::v1::{
    actions_server::ActionsServer, audit_server::AuditServer, flows_server::FlowsServer,
    runner_sync_server::RunnerSyncServer, tenants_server::TenantsServer, tests_server::TestsServer,
};
use std::sync::Arc;

/// The largest request the management API takes (a package upload is at
/// most [`crate::package::MAX_UPLOAD_BYTES`]; sources are at most 4 MiB).
const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
/// The largest answer (a module to a runner, a version's source).
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// What open streams (WatchFlows, Tail) end with when the control plane stops.
fn shutting_down() -> tonic::Status {
    tonic::Status::unavailable("the control plane is shutting down; reconnect")
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
