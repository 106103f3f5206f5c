//! The Actions runner: runs compiled Actions in wasmtime sandboxes.
//!
//! This crate is a narrow façade over wasmtime; callers never see a
//! `wasmtime::Config`. A [`Sandbox`] holds the engine and the plugin;
//! [`Sandbox::load`] turns a compiled Action into an [`ActionModule`];
//! [`Sandbox::run`] runs it once with [`RunLimits`] and returns a
//! [`RunReport`] whose [`Outcome`] is typed: allowed, denied, out of fuel,
//! deadline exceeded, memory limit, log limit, guest error, host error.
//!
//! Host functions live in `host/`, one module per `api` namespace.
//!
//! Around the sandbox, one room per job, none importing one that imports it
//! back:
//! - [`settings`]: typed settings, built in code or read from TOML;
//! - [`state`]: the sandbox, the flows served now, the spool, metrics;
//! - [`flows`]: flows as a runner runs them, and [`flows_file`] reloading
//!   them from a file;
//! - [`admission`]: which calls may take a pool slot now (per-tenant
//!   shares, bounded waits, the overloaded answer, the test-run lane);
//! - [`slot`]: a trigger slot's bindings run in order;
//! - [`execution`]: the `Execution` gRPC API, its errors, the one
//!   conversion of a run into its response and record, and the server;
//! - [`control_plane`]: the link to the control plane (flows watched,
//!   modules fetched, records pushed);
//! - [`spool`]: run records on disk until the control plane has them;
//! - [`http`]: the guarded transport behind `api.fetch`;
//! - [`replay`]: what a run read from outside itself, recorded, and played
//!   back to run it again exactly.

pub mod admission;
pub mod control_plane;
mod error;
pub mod execution;
mod fetch;
pub mod flows;
pub mod flows_file;
mod host;
pub mod http;
mod limits;
pub mod replay;
mod report;
mod sandbox;
pub mod settings;
pub mod slot;
pub mod spool;
pub mod state;
pub mod telemetry;

pub use actions_proto::catalog::{Flow, Method, Trigger, UnknownTrigger};
pub use error::RunnerError;
pub use fetch::{FetchError, FetchRequest, FetchResponse, HttpFetch};
pub use host::payload;
pub use host::tokens::RESERVED_CLAIMS;
pub use limits::RunLimits;
pub use report::{Effects, LogLevel, LogLine, LogOrigin, Outcome, RunReport};
pub use sandbox::{
    ActionModule, CpuShare, InstanceStrategy, LONG_RUN_AFTER, RunRequest, Sandbox, SandboxConfig,
};
