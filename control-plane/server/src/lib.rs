//! The Actions control plane: the management service.
//!
//! - [`store`]: every read and write, on SQLite (embedded default) or
//!   PostgreSQL, with migrations from `migrations/`.
//! - [`api`]: the gRPC services, one module each: `Tenants` (operator),
//!   `Actions`, `Flows`, `Tests` (test runs, `api/test_runs.rs`), `Audit`
//!   (tenant tokens), `RunnerSync` (runners).
//! - [`package`]: external `.tar.gz` packages, checked entry by entry.
//! - [`schema`]: config schemas and the configs checked against them.
//! - [`rules`]: the rules of the domain that several services apply (slugs,
//!   triggers, whether a binding fits the version it runs), each in one place.
//! - [`auth`]: operator, tenant and runner credentials.
//! - [`sealing`]: envelope encryption of Actions' secrets at rest;
//!   `action_secrets.rs` opens them for runners and test runs only.
//! - [`compile_slots`]: compiles shared fairly between tenants.
//! - [`page_tokens`]: opaque, tenant-bound page tokens of shared tables.
//! - [`replay`]: where a replayed run differs from its record.
//!
//! Every error is an [`Error`]; `error.rs` is the one place it becomes a
//! gRPC status.

mod action_secrets;
pub mod api;
pub mod auth;
pub mod compile_slots;
pub mod console;
mod error;
pub mod package;
pub mod page_tokens;
pub mod replay;
pub mod rules;
pub mod schema;
pub mod sealing;
mod settings;
mod state;
pub mod store;

pub use action_secrets::{Resealed, SecretValues, TenantSecretValues, reseal_secrets};
pub use error::Error;
pub use settings::{BindingCeilings, ControlPlaneSettings, TestRunnerSettings};
pub use state::{COMPILE_TIME_LIMIT, ControlPlane};
