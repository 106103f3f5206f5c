//! What every Actions gRPC server sets up the same way: health checking,
//! server reflection over every contract here, and `TCP_NODELAY` on each
//! accepted connection. The runner and the control plane add their services
//! to the [`tonic::transport::server::Router`] this starts.

use tonic::service::Routes;
use tonic::transport::server::Router;

/// The server could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("setting up the gRPC server: {0}")]
pub struct ServingError(String);

/// A server with health and reflection, and the health reporter to mark
/// services as serving.
pub struct ServerBase {
    /// Mark each service serving once it is added.
    pub health: tonic_health::server::HealthReporter,
    /// Add the services to this, then serve it with [`incoming_nodelay`].
    pub router: Router,
}

/// A tonic server carrying health and reflection, on `routes` (what answers
/// requests no gRPC service takes: `Routes::default()` for none).
pub fn server_base(
    builder: tonic::transport::Server,
    routes: Routes,
) -> Result<ServerBase, ServingError> {
    let mut builder = builder;
    let (health, health_service) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServingError(format!("reflection: {e}")))?;
    let router = builder
        .add_routes(routes)
        .add_service(health_service)
        .add_service(reflection);
    Ok(ServerBase { health, router })
}

/// The listener's connections with Nagle's algorithm off: with delayed
/// ACKs it adds about 40 ms to every small request/response pair.
pub fn incoming_nodelay(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |stream| {
            stream.and_then(|stream| {
                stream.set_nodelay(true)?;
                Ok(stream)
            })
        },
    )
}
