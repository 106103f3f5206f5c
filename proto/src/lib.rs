//! The gRPC contracts of Actions, generated from `proto/actions/**/*.proto`.
//!
//! - [`runner::v1`]: the execution API auth backends call on the runners.
//! - [`controlplane::v1`]: the management API developers and the CLI call,
//!   and what the control plane serves the runners (flows, modules) and
//!   receives from them (run records).
//! - [`catalog`]: the flows and trigger slots both sides agree on.
//! - [`bearer`]: the token header every API takes.
//! - [`details`]: typed details on error statuses (where a source fails).
//! - [`record`]: run records, and reading those of an older shape.
//! - [`limits`]: per-binding limits: defaults, default ceilings, the check.
//! - [`overload`]: the typed "overloaded" answer of a runner that ran nothing.
//! - [`sizes`]: caps on what is stored and sent, and what clients decode.
//! - `serving` (feature `server`): what every Actions gRPC server sets up.
//! - [`manifest`]: `action.json`, what a package says about itself, as the
//!   CLI and the control plane both read it.

pub mod bearer;
pub mod catalog;
pub mod details;
pub mod limits;
pub mod manifest;
pub mod overload;
pub mod record;
#[cfg(feature = "server")]
pub mod serving;
pub mod sizes;

/// `actions.runner.*`
#[allow(missing_docs, clippy::all)]
pub mod runner {
    /// `actions.runner.v1`: `Execution` (`Execute`, `ExecuteAction`,
    /// `ExecuteBindings`), and the bindings and results runs are made of.
    pub mod v1 {
        tonic::include_proto!("actions.runner.v1");
    }
}

/// `actions.controlplane.*`
#[allow(missing_docs, clippy::all)]
pub mod controlplane {
    /// `actions.controlplane.v1`: the management API (`Tenants`, `Actions`,
    /// `Flows`, `Tests`, `Audit`) and `RunnerSync` (`WatchFlows`,
    /// `FetchModule`, `PushRunRecords`).
    pub mod v1 {
        tonic::include_proto!("actions.controlplane.v1");
    }
}

/// The encoded file descriptor set of every proto here, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("actions_descriptor");
