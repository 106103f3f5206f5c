//! Why a call was refused, and the one place where that becomes a gRPC
//! status. A failed run is never an error here: it is an outcome in the
//! response. What a client is told: the caller's mistake in full, the
//! runner's own failure as "internal error" with an id to find it in the log.

use crate::admission::Overloaded;
use actions_proto::catalog::UnknownTrigger;
use actions_proto::overload;
use tonic::Status;

/// Why a call was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No or wrong bearer token.
    #[error("missing or invalid runner token; send `authorization: Bearer <token>`")]
    Unauthenticated,
    /// The tenant has no flows on this runner.
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    /// Not a trigger of the catalog.
    #[error("{0}")]
    UnknownTrigger(#[from] UnknownTrigger),
    /// The event is not a JSON object.
    #[error("event_json is not a JSON object: {0}")]
    BadEvent(String),
    /// A binding's config is not JSON.
    #[error("config_json is not JSON: {0}")]
    BadConfig(String),
    /// No module with that hash on this runner.
    #[error("no module with sha256 {0:?} on this runner")]
    UnknownModule(String),
    /// No room for the call now: nothing ran, the caller may retry
    /// elsewhere. Never a run's outcome, so never a binding's fail policy.
    #[error("{0}")]
    Overloaded(#[from] Overloaded),
    /// The runner failed; details are in its log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<CallError> for Status {
    fn from(error: CallError) -> Self {
        let message = error.to_string();
        match error {
            CallError::Unauthenticated => Status::unauthenticated(message),
            CallError::UnknownTenant(_) | CallError::UnknownModule(_) => Status::not_found(message),
            CallError::UnknownTrigger(_) | CallError::BadEvent(_) | CallError::BadConfig(_) => {
                Status::invalid_argument(message)
            }
            CallError::Overloaded(overloaded) => overload::status(
                overloaded.scope,
                overloaded.lane,
                overloaded.retry_after,
                message,
            ),
            CallError::Internal(detail) => {
                let id = incident_id();
                tracing::error!(%detail, incident = %id, "internal error");
                Status::internal(format!(
                    "internal error (incident {id} in the runner's log)"
                ))
            }
        }
    }
}

/// A short random id that ties an answer to its log line.
fn incident_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("{bits:016x}")
}
