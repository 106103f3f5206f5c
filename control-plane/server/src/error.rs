//! The control plane's one error type, and the one place it becomes a gRPC status.

use actions_compiler::CompileError;
use actions_proto::controlplane::v1::SourceProblem;
use actions_proto::details::{
    NO_REPLAY_DATA, PreconditionViolation, SECRET_NOT_SET, with_precondition_failure,
    with_source_problem,
};
use actions_proto::limits::OverCeiling;
use actions_proto::manifest::ManifestError;
use tonic::{Code, Status};

/// Why a call or the start-up failed. Every message names what was wrong;
/// what of it reaches a client is decided below, in one place.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Settings, the database URL or the migrations are wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// Asked to serve without its tokens, and not allowed to.
    #[error("{0}")]
    WithoutTokens(#[from] actions_proto::bearer::ServingWithoutTokens),
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
    /// A binding does not fit the version it would run (the version does
    /// not support its trigger, or its config breaks the version's config
    /// schema), whether on attach, update, test run or publish: see
    /// [`crate::rules`].
    #[error("{0}")]
    Misfit(String),
    /// A version reads secrets that have no value: publishing it is refused.
    #[error(
        "{action}@{version} reads secrets that have no value: {}; set them first \
         (`action secret set {action} NAME`, or the editor's Secrets panel)",
        .names.join(", ")
    )]
    SecretsNotSet {
        /// The Action's slug.
        action: String,
        /// The version.
        version: String,
        /// The secrets without a value, by name.
        names: Vec<String>,
    },
    /// A run's record keeps nothing to replay it from.
    #[error("run {run_id} cannot be replayed: {why}")]
    NoReplayData {
        /// The run.
        run_id: String,
        /// Why its record keeps no replay data.
        why: String,
    },
    /// Too much at once for the caller's share (test runs in flight); nothing
    /// ran, retrying shortly may succeed.
    #[error("{0}")]
    Busy(String),
    /// Something the control plane depends on (the runner test runs go to)
    /// could not be reached or failed; `detail` is only logged.
    #[error("{what} is unavailable: {detail}")]
    Unavailable {
        /// What, as the client is told, e.g. "the test runner".
        what: &'static str,
        /// Why, for the log.
        detail: String,
    },
    /// The database failed (or cannot be reached: `UNAVAILABLE`).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A bug or a broken build.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What an error tells a client. Errors that are the caller's to fix keep
/// their message, which names what was wrong. Every other error (a bug, the
/// settings, the database, a runner) answers a fixed message with a short
/// reference; the detail (SQL errors, paths, a runner's own words) goes to
/// the log under that reference, never to the client.
impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::Config(_) | Error::WithoutTokens(_) | Error::Internal(_) => Code::Internal,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::PermissionDenied(_) => Code::PermissionDenied,
            Error::Invalid(_) | Error::OverCeilings(_) | Error::Manifest(_) => {
                Code::InvalidArgument
            }
            // The control plane compiles from memory: reading a file is ours.
            Error::Compile(CompileError::Internal(_) | CompileError::Io { .. }) => Code::Internal,
            Error::Compile(_) => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::AlreadyExists(_) => Code::AlreadyExists,
            Error::FailedPrecondition(_)
            | Error::Misfit(_)
            | Error::SecretsNotSet { .. }
            | Error::NoReplayData { .. } => Code::FailedPrecondition,
            Error::Busy(_) => Code::ResourceExhausted,
            Error::Unavailable { .. } => Code::Unavailable,
            Error::Database(e) if database_unreachable(e) => Code::Unavailable,
            Error::Database(_) => Code::Internal,
        };
        let unavailable = match &error {
            Error::Unavailable { what, .. } => Some(*what),
            Error::Database(_) if code == Code::Unavailable => Some("the database"),
            _ => None,
        };
        if let Error::SecretsNotSet { names, .. } = &error {
            let violations = names
                .iter()
                .map(|name| PreconditionViolation {
                    r#type: SECRET_NOT_SET.into(),
                    subject: name.clone(),
                    description: format!("secret {name} has no value"),
                })
                .collect();
            return with_precondition_failure(error.to_string(), violations);
        }
        if let Error::NoReplayData { run_id, why } = &error {
            let violation = PreconditionViolation {
                r#type: NO_REPLAY_DATA.into(),
                subject: run_id.clone(),
                description: why.clone(),
            };
            return with_precondition_failure(error.to_string(), vec![violation]);
        }
        if let Error::Compile(compile) = &error
            && let Some(at) = compile.location()
            && code == Code::InvalidArgument
        {
            let text = compile.to_string();
            let problem = SourceProblem {
                file: at.file.clone(),
                line: at.line,
                column: at.column,
                message: text
                    .strip_prefix(&format!("{at}: "))
                    .unwrap_or(&text)
                    .to_owned(),
            };
            return with_source_problem(code, error.to_string(), problem);
        }
        if code != Code::Internal && unavailable.is_none() {
            return Status::new(code, error.to_string());
        }
        let reference = reference();
        tracing::error!(%reference, %error, code = ?code, "a call failed on our side");
        let message = match unavailable {
            Some(what) => format!("{what} is unavailable; try again later (reference {reference})"),
            None => format!(
                "internal error (reference {reference}); the control plane's log has the detail"
            ),
        };
        Status::new(code, message)
    }
}

/// A short random reference (8 hex digits) that ties an answer to its log line.
fn reference() -> String {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        bytes = nanos.to_le_bytes();
    }
    hex::encode(bytes)
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
    fn internal_detail_stays_in_the_log() {
        let leaky = [
            Error::Database(sqlx::Error::Protocol(
                "relation \"secret_table\" at /var/lib/db".into(),
            )),
            Error::Internal("reading /etc/secret-path: denied".into()),
            Error::Config("test_runner.token secret-path".into()),
            Error::Compile(CompileError::Internal("/tmp/secret-path".into())),
        ];
        for error in leaky {
            let status = Status::from(error);
            assert_eq!(status.code(), Code::Internal);
            assert!(!status.message().contains("secret"), "{status:?}");
            assert!(status.message().starts_with("internal error (reference "));
        }
    }

    #[test]
    fn unavailable_says_what_and_not_why() {
        let runner = Status::from(Error::Unavailable {
            what: "the test runner",
            detail: "Internal: tcp connect to 10.1.2.3:50051 refused".into(),
        });
        let database = Status::from(Error::Database(sqlx::Error::PoolTimedOut));
        for (status, what) in [(runner, "the test runner"), (database, "the database")] {
            assert_eq!(status.code(), Code::Unavailable);
            assert!(
                status.message().starts_with(&format!(
                    "{what} is unavailable; try again later (reference "
                )),
                "{status:?}"
            );
            assert!(!status.message().contains("10.1.2.3"), "{status:?}");
        }
    }

    #[test]
    fn the_callers_mistakes_keep_their_message() {
        let status = Status::from(Error::Invalid("slug \"A\" is not a valid slug".into()));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "slug \"A\" is not a valid slug");
        let status = Status::from(Error::NotFound("action \"x\"".into()));
        assert_eq!(status.message(), "action \"x\" not found");
        let status = Status::from(Error::Misfit("the config does not match".into()));
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.message(), "the config does not match");
    }

    #[test]
    fn references_differ() {
        assert_eq!(reference().len(), 8);
        assert_ne!(reference(), reference());
    }

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
