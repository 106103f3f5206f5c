//! The control plane's one error type, and the one place it becomes a gRPC status.

use actions_compiler::CompileError;
use actions_proto::limits::OverCeiling;
use actions_proto::manifest::ManifestError;
use tonic::{Code, Status};

/// Why a call or the start-up failed. Every message names what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Settings, the database URL or the migrations are wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// No token, or one that is unknown or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// A valid token calling something it may not.
    #[error("{0}")]
    PermissionDenied(String),
    /// A field of the request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// A binding asks for limits above the operator's ceilings; nothing was stored.
    #[error("{}", over_ceilings(.0))]
    OverCeilings(Vec<OverCeiling>),
    /// An uploaded package's `action.json` is wrong; nothing was stored.
    #[error("package: {0}")]
    Manifest(#[from] ManifestError),
    /// The source does not compile; nothing was stored.
    #[error("the source does not compile: {0}")]
    Compile(#[from] CompileError),
    /// The tenant has no such thing (or it belongs to another tenant).
    #[error("{0} not found")]
    NotFound(String),
    /// It exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is well-formed but the current state refuses it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A runner (for test runs) or the database could not be reached.
    #[error("{0}")]
    Unavailable(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A bug or a broken build.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::Config(_) | Error::Internal(_) => Code::Internal,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::PermissionDenied(_) => Code::PermissionDenied,
            Error::Invalid(_) | Error::OverCeilings(_) | Error::Manifest(_) => {
                Code::InvalidArgument
            }
            Error::Compile(CompileError::Internal(_)) => Code::Internal,
            Error::Compile(_) => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::AlreadyExists(_) => Code::AlreadyExists,
            Error::FailedPrecondition(_) => Code::FailedPrecondition,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Database(e) if database_unreachable(e) => Code::Unavailable,
            Error::Database(_) => Code::Internal,
        };
        if code == Code::Internal {
            tracing::error!(%error, "internal error");
        }
        Status::new(code, error.to_string())
    }
}

/// Each limit asked above its ceiling: field, what was asked, the ceiling.
fn over_ceilings(over: &[OverCeiling]) -> String {
    let each: Vec<String> = over
        .iter()
        .map(|o| format!("{} {} is above the ceiling {}", o.field, o.asked, o.ceiling))
        .collect();
    format!("limits above the operator's ceilings: {}", each.join("; "))
}

/// The database cannot be reached or refuses connections: the caller may
/// retry later (`UNAVAILABLE`), nothing was written.
fn database_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE: 08 connection exception, 57P administrator shutdown or
        // cannot connect now, 53 insufficient resources, 55000 for a
        // database that does not allow connections.
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || code == "55000"
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_over_their_ceilings_are_invalid_and_each_is_named() {
        let status = Status::from(Error::OverCeilings(vec![
            OverCeiling {
                field: "fuel",
                asked: 30,
                ceiling: 20,
            },
            OverCeiling {
                field: "fetch_calls",
                asked: 60,
                ceiling: 50,
            },
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "limits above the operator's ceilings: fuel 30 is above the ceiling 20; \
             fetch_calls 60 is above the ceiling 50"
        );
    }
}
