//! The Actions runner: runs compiled Actions in wasmtime sandboxes.
//!
//! This crate is a narrow façade over wasmtime; callers never see a
//! `wasmtime::Config`. A [`Sandbox`] holds the engine and the plugin;
//! [`Sandbox::load`] turns a compiled Action into an [`ActionModule`];
//! [`Sandbox::run`] runs it once with [`RunLimits`] and returns a
//! [`RunReport`] whose [`Outcome`] is typed: allowed, denied, out of fuel,
//! deadline exceeded, memory limit, log limit, guest error, host error.
//!
//! Host functions live in `host/`, one module per `api` namespace. The
//! gRPC service (the `actions-runner` binary) is [`service`]; it runs trigger
//! slots with [`slot`] over the flows of [`flows`], and gives `api.fetch` the
//! guarded transport of [`http`].

mod fetch;
pub mod flows;
mod host;
pub mod http;
mod limits;
pub mod records;
mod report;
mod sandbox;
pub mod service;
pub mod slot;
pub mod sync;
pub mod telemetry;

pub use actions_proto::catalog::{Flow, Method, Trigger, UnknownTrigger};
pub use fetch::{FetchError, FetchRequest, FetchResponse, HttpFetch};
pub use host::payload;
pub use host::tokens::RESERVED_CLAIMS;
pub use limits::RunLimits;
pub use report::{Effects, LogLevel, LogLine, LogOrigin, Outcome, RunReport};
pub use sandbox::{ActionModule, InstanceStrategy, RunRequest, Sandbox, SandboxConfig};

/// Why the sandbox could not be set up or a module could not be loaded.
/// Failures of a run are never errors: they are [`Outcome`]s.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// wasmtime refused the engine configuration.
    #[error("configuring the engine: {0}")]
    Engine(wasmtime::Error),
    /// The plugin could not be compiled or linked.
    #[error("preparing the plugin: {0}")]
    Plugin(String),
    /// The module is not one the Actions compiler made.
    #[error("not a valid Action module: {0}")]
    InvalidModule(String),
    /// The runner's settings or flows are wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The module was compiled for another plugin build; recompile it from source.
    #[error(
        "the module was compiled for plugin {module}, this runner has plugin {runner}; recompile the Action"
    )]
    PluginMismatch {
        /// The plugin the module names.
        module: String,
        /// This runner's plugin.
        runner: String,
    },
}
