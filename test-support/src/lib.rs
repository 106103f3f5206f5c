//! Helpers that the workspace's tests and benchmarks share, each written
//! once: where the repository, its examples and the shared plugin cache
//! are, a free port on loopback, and, behind features, a gRPC request with a
//! bearer token (`grpc`) and an HTTP server on loopback that keeps every
//! request it receives (`http`).
//!
//! A dev-dependency only: nothing here belongs in a shipped binary.

use std::path::{Path, PathBuf};

#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
pub use http::LoopbackHttp;

/// The repository's root folder (this crate lives in `test-support/`).
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support is a folder of the repository")
        .to_path_buf()
}

/// The `examples/` folder: the starters and the patterns, with their events.
pub fn examples() -> PathBuf {
    repository().join("examples")
}

/// The plugin cache in a target's temporary folder: `plugin-cache` in
/// `target_tmpdir`. Use [`cache_dir!`], which passes the calling test's
/// `CARGO_TARGET_TMPDIR`.
pub fn plugin_cache(target_tmpdir: impl AsRef<Path>) -> PathBuf {
    target_tmpdir.as_ref().join("plugin-cache")
}

/// The compiled-plugin cache that every test and benchmark of the workspace
/// shares, so that the plugin is compiled once per target folder:
/// `plugin-cache` in Cargo's `CARGO_TARGET_TMPDIR`.
///
/// A macro because Cargo sets `CARGO_TARGET_TMPDIR` only when it builds an
/// integration test or a benchmark, not a library such as this one: the
/// macro reads it where it is used.
#[macro_export]
macro_rules! cache_dir {
    () => {
        $crate::plugin_cache(::std::env!("CARGO_TARGET_TMPDIR"))
    };
}

/// A port on 127.0.0.1 that nothing listened on a moment ago, for a server
/// that must be told its address before it starts (a child process, or a
/// control plane that comes up after the runner that calls it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

/// `message` as a request with `authorization: Bearer <token>`, as the
/// control plane's and the runner's clients send it.
#[cfg(feature = "grpc")]
pub fn auth<T>(message: T, token: &str) -> tonic::Request<T> {
    actions_proto::bearer::request(message, token).expect("a token that fits in a header")
}
