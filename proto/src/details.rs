//! Typed details on an error status, in the `grpc-status-details-bin`
//! trailer as `google.rpc.Status` carries them, so that every client (the
//! console through Connect's `findDetails`, the CLI, tests) reads the same
//! fields instead of parsing a message.

use crate::controlplane::v1::SourceProblem;
use prost::Message as _;

/// `google.rpc.Status`, the envelope gRPC's rich error model puts details in.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `google.rpc.PreconditionFailure`.
#[derive(Clone, PartialEq, prost::Message)]
struct PreconditionFailure {
    #[prost(message, repeated, tag = "1")]
    violations: Vec<PreconditionViolation>,
}

/// One violation of a `google.rpc.PreconditionFailure`: what kind, about
/// what, and why.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PreconditionViolation {
    /// e.g. "SECRET_NOT_SET".
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// e.g. the secret's name.
    #[prost(string, tag = "2")]
    pub subject: String,
    /// In words.
    #[prost(string, tag = "3")]
    pub description: String,
}

const PRECONDITION_FAILURE_TYPE: &str = "type.googleapis.com/google.rpc.PreconditionFailure";

/// What a publish refused for a secret with no value is marked with.
pub const SECRET_NOT_SET: &str = "SECRET_NOT_SET";

/// The `type` of a precondition violation: the run's record keeps no
/// replay data (its subject is the run id, its description why).
pub const NO_REPLAY_DATA: &str = "NO_REPLAY_DATA";

/// `FAILED_PRECONDITION` with `message` and `violations` attached.
pub fn with_precondition_failure(
    message: String,
    violations: Vec<PreconditionViolation>,
) -> tonic::Status {
    let code = tonic::Code::FailedPrecondition;
    let details = RpcStatus {
        code: code as i32,
        message: message.clone(),
        details: vec![Any {
            type_url: PRECONDITION_FAILURE_TYPE.into(),
            value: PreconditionFailure { violations }.encode_to_vec(),
        }],
    };
    tonic::Status::with_details(code, message, details.encode_to_vec().into())
}

/// The precondition violations a status carries (none: an empty list).
pub fn precondition_violations(status: &tonic::Status) -> Vec<PreconditionViolation> {
    RpcStatus::decode(status.details())
        .ok()
        .into_iter()
        .flat_map(|envelope| envelope.details)
        .filter(|any| any.type_url == PRECONDITION_FAILURE_TYPE)
        .filter_map(|any| PreconditionFailure::decode(any.value.as_slice()).ok())
        .flat_map(|failure| failure.violations)
        .collect()
}

const SOURCE_PROBLEM_TYPE: &str = "type.googleapis.com/actions.controlplane.v1.SourceProblem";

/// `code` and `message`, with `problem` attached.
pub fn with_source_problem(
    code: tonic::Code,
    message: String,
    problem: SourceProblem,
) -> tonic::Status {
    let details = RpcStatus {
        code: code as i32,
        message: message.clone(),
        details: vec![Any {
            type_url: SOURCE_PROBLEM_TYPE.into(),
            value: problem.encode_to_vec(),
        }],
    };
    tonic::Status::with_details(code, message, details.encode_to_vec().into())
}

/// The source problem a status carries, if it carries one.
pub fn source_problem(status: &tonic::Status) -> Option<SourceProblem> {
    let envelope = RpcStatus::decode(status.details()).ok()?;
    envelope
        .details
        .iter()
        .find(|any| any.type_url == SOURCE_PROBLEM_TYPE)
        .and_then(|any| SourceProblem::decode(any.value.as_slice()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_problem_survives_the_round_trip_and_is_absent_otherwise() {
        let problem = SourceProblem {
            file: "src/index.ts".into(),
            line: 3,
            column: 7,
            message: "syntax error: Unexpected token".into(),
        };
        let status = with_source_problem(
            tonic::Code::InvalidArgument,
            "the source does not compile".into(),
            problem.clone(),
        );
        assert_eq!(source_problem(&status), Some(problem));
        assert_eq!(
            source_problem(&tonic::Status::invalid_argument("no details")),
            None
        );
    }
}
