//! The runner's integration tests, in one binary (one link of wasmtime):
//! the sandbox library through its real parts, then the service over real
//! sockets, one file per topic, with what they share in `common`.

mod common;

mod hostile;
mod sandbox;

mod authentication;
mod capacity;
mod control_plane_sync;
mod execute;
mod fetch;
mod flows_file;
mod records;
mod shutdown_and_kill;
mod status_codes_and_health;
mod telemetry;
