//! The runner's "overloaded" answer: the call ran nothing (no Action, no
//! fail policy, no record), and the caller may retry it on another runner.
//!
//! It is a `RESOURCE_EXHAUSTED` status carrying the standard
//! `google.rpc.ErrorInfo` detail (reason [`REASON`], domain [`DOMAIN`],
//! metadata `scope` and `lane`) and a `google.rpc.RetryInfo` with how soon
//! a retry on the same runner could succeed, in `grpc-status-details-bin`,
//! which every gRPC library can read.
//!
//! `RESOURCE_EXHAUSTED` rather than `UNAVAILABLE`: gRPC clients and proxies
//! retry `UNAVAILABLE` by themselves and count it against the server's
//! health (it maps to HTTP 503), so one tenant's flood would be amplified by
//! automatic retries and could get a healthy runner ejected for every
//! tenant. `RESOURCE_EXHAUSTED` (HTTP 429) is retried only by a caller that
//! decides to, and says "a quota", which is what a tenant's share is.

use std::collections::HashMap;
use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// `ErrorInfo.reason` of the overloaded answer.
pub const REASON: &str = "OVERLOADED";
/// `ErrorInfo.domain` of the overloaded answer.
pub const DOMAIN: &str = "actions.runner.v1";

/// What was full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The tenant holds its whole share of the lane, and its wait queue is
    /// full or the wait ran out: the rest of the runner may be free.
    Tenant,
    /// The lane is full for everyone.
    Runner,
}

impl Scope {
    /// As in the detail's metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Tenant => "tenant",
            Scope::Runner => "runner",
        }
    }
}

/// Which capacity a call takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// `Execute`: sign-ins and sign-ups.
    Production,
    /// `ExecuteAction`, `ExecuteBindings`: test runs, on a share of their own.
    Test,
}

impl Lane {
    /// As in the detail's metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Production => "production",
            Lane::Test => "test",
        }
    }
}

/// The overloaded answer, as a runner sends it.
pub fn status(scope: Scope, lane: Lane, retry_after: Duration, message: String) -> Status {
    let mut details = ErrorDetails::with_error_info(
        REASON,
        DOMAIN,
        HashMap::from([
            ("scope".to_owned(), scope.as_str().to_owned()),
            ("lane".to_owned(), lane.as_str().to_owned()),
        ]),
    );
    details.set_retry_info(Some(retry_after));
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// The overload an answer reports (scope and lane), if it is the overloaded
/// answer.
pub fn of(status: &Status) -> Option<(Scope, Lane)> {
    if status.code() != Code::ResourceExhausted {
        return None;
    }
    let info = status.get_details_error_info()?;
    if info.reason != REASON || info.domain != DOMAIN {
        return None;
    }
    let scope = match info.metadata.get("scope").map(String::as_str) {
        Some("tenant") => Scope::Tenant,
        _ => Scope::Runner,
    };
    let lane = match info.metadata.get("lane").map(String::as_str) {
        Some("test") => Lane::Test,
        _ => Lane::Production,
    };
    Some((scope, lane))
}

/// How soon the answer says the caller may come back to the same runner.
pub fn retry_after(status: &Status) -> Option<Duration> {
    status.get_details_retry_info()?.retry_delay
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_reads_back_as_what_was_full() {
        let sent = status(
            Scope::Tenant,
            Lane::Test,
            Duration::from_millis(50),
            "busy".into(),
        );
        assert_eq!(of(&sent), Some((Scope::Tenant, Lane::Test)));
        assert_eq!(retry_after(&sent), Some(Duration::from_millis(50)));
        assert_eq!(of(&Status::resource_exhausted("other quota")), None);
    }
}
