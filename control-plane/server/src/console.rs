//! The admin console: its built files (`console/dist`, a single-page app)
//! served on the control plane's own port, beside the gRPC services it calls
//! over gRPC-Web. Same origin, so the browser needs no CORS and the token
//! never leaves for another host.

use axum::http::{HeaderName, HeaderValue, header};
use std::convert::Infallible;
use std::path::Path;
use tonic::body::Body;
use tonic::server::NamedService;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_layer::Layer as _;
use tower_service::Service;

/// Everything the console loads comes from this server: no CDN, no inline
/// script. Monaco sets styles inline and runs its workers from blobs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

/// The router the gRPC services are added to (with [`with_grpc_web`]):
/// with a console directory, any request no service takes is answered from
/// it, and a path that is no file gets `index.html` (the app routes in the
/// browser); without one, such requests get gRPC's `UNIMPLEMENTED`.
pub fn router(console_dir: Option<&Path>) -> axum::Router {
    let Some(dir) = console_dir else {
        return tonic::service::Routes::default().into_axum_router();
    };
    let files = ServeDir::new(dir)
        .append_index_html_on_directories(true)
        .fallback(ServeFile::new(dir.join("index.html")));
    axum::Router::new()
        .fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
}

/// `router` with `service` added, answering gRPC (HTTP/2) and gRPC-Web
/// (HTTP/1.1 or 2, from a browser). gRPC-Web is per service, not a layer
/// over the whole server, because that layer refuses every other HTTP/1.1
/// request, the console's files included.
pub fn with_grpc_web<S>(router: axum::Router, service: S) -> axum::Router
where
    S: Service<
            axum::http::Request<Body>,
            Response = axum::http::Response<Body>,
            Error = Infallible,
        > + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    router.route_service(
        &format!("/{}/{{*rest}}", S::NAME),
        tonic_web::GrpcWebLayer::new().layer(service),
    )
}
