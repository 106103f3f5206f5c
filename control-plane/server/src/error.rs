//! The control plane's one error type, and the one place it becomes a gRPC status.

use actions_compiler::CompileError;
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
    /// A binding does not fit the version it would run (the version does
    /// not support its trigger, or its config breaks the version's config
    /// schema), whether on attach, update, test run or publish: see
    /// [`crate::rules`].
    #[error("{0}")]
    Misfit(String),
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
            Error::Invalid(_) => Code::InvalidArgument,
            Error::Compile(CompileError::Internal(_)) => Code::Internal,
            Error::Compile(_) => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::AlreadyExists(_) => Code::AlreadyExists,
            Error::FailedPrecondition(_) | Error::Misfit(_) => Code::FailedPrecondition,
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
