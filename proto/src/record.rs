//! Run records: the response a caller got, plus what only the record needs
//! (runner, tenant, trigger, start time, whether it was a test). Records
//! written before the response was embedded are still read, through
//! [`decode_record`].

use crate::controlplane::v1::RunRecord;
use crate::runner::v1::{BindingResult, Decision, ExecuteResponse, LogLine, Outcome};
use prost::Message as _;

/// What a secret's value becomes wherever a run would show it, and what a
/// replay gives the Action for each secret (so that what it builds from
/// one matches the redacted record).
pub const REDACTED: &str = "[redacted]";

impl RunRecord {
    /// The run's id, its idempotency key.
    pub fn run_id(&self) -> &str {
        self.response.as_ref().map_or("", |r| r.run_id.as_str())
    }

    /// The slot's decision.
    pub fn decision(&self) -> Decision {
        self.response
            .as_ref()
            .map_or(Decision::Unspecified, ExecuteResponse::decision)
    }

    /// Each binding's result, in the order they ran.
    pub fn bindings(&self) -> &[BindingResult] {
        self.response
            .as_ref()
            .map_or(&[], |r| r.bindings.as_slice())
    }
}

impl ExecuteResponse {
    /// The Actions its bindings ran, each once, in name order.
    pub fn action_slugs(&self) -> Vec<&str> {
        let mut slugs: Vec<&str> = self
            .bindings
            .iter()
            .map(|b| b.action_slug.as_str())
            .collect();
        slugs.sort_unstable();
        slugs.dedup();
        slugs
    }
}

impl Decision {
    /// `allow` or `deny` (empty when unspecified): how stores and filters name it.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Unspecified => "",
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }

    /// The decision [`Decision::name`] names.
    pub fn from_name(name: &str) -> Option<Self> {
        [Decision::Allow, Decision::Deny]
            .into_iter()
            .find(|d| d.name() == name)
    }
}

impl Outcome {
    /// Every outcome a binding can have.
    pub const ALL: [Outcome; 9] = [
        Outcome::Allowed,
        Outcome::Denied,
        Outcome::OutOfFuel,
        Outcome::DeadlineExceeded,
        Outcome::MemoryLimitExceeded,
        Outcome::LogLimitExceeded,
        Outcome::GuestError,
        Outcome::HostError,
        Outcome::Skipped,
    ];

    /// `allowed`, `out_of_fuel`, …: how stores, filters and the CLI name it
    /// (empty when unspecified).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Unspecified => "",
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::OutOfFuel => "out_of_fuel",
            Outcome::DeadlineExceeded => "deadline_exceeded",
            Outcome::MemoryLimitExceeded => "memory_limit_exceeded",
            Outcome::LogLimitExceeded => "log_limit_exceeded",
            Outcome::GuestError => "guest_error",
            Outcome::HostError => "host_error",
            Outcome::Skipped => "skipped",
        }
    }

    /// The outcome [`Outcome::name`] names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// Decodes a stored or spooled record, in today's shape or the one before
/// the response was embedded (which a runner's spool or a database may
/// still hold after an upgrade).
pub fn decode_record(bytes: &[u8]) -> Result<RunRecord, prost::DecodeError> {
    let current = RunRecord::decode(bytes)?;
    if current.response.is_some() {
        return Ok(current);
    }
    let legacy = legacy::RunRecordV0::decode(bytes)?;
    if legacy.run_id.is_empty() {
        return Ok(current);
    }
    Ok(legacy.into_current())
}

/// The record's shape before the response was embedded: the same run
/// fields under other numbers, outcomes as strings.
mod legacy {
    use super::*;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RunRecordV0 {
        #[prost(string, tag = "1")]
        pub run_id: String,
        #[prost(string, tag = "2")]
        pub runner_id: String,
        #[prost(string, tag = "3")]
        pub tenant: String,
        #[prost(string, tag = "4")]
        pub trigger: String,
        #[prost(string, tag = "5")]
        pub decision: String,
        #[prost(string, tag = "6")]
        pub deny_reason: String,
        #[prost(uint64, tag = "7")]
        pub started_at_ms: u64,
        #[prost(uint64, tag = "8")]
        pub duration_us: u64,
        #[prost(message, repeated, tag = "9")]
        pub bindings: Vec<BindingRecordV0>,
        #[prost(bool, tag = "10")]
        pub test: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BindingRecordV0 {
        #[prost(string, tag = "1")]
        pub binding_id: String,
        #[prost(string, tag = "2")]
        pub action_slug: String,
        #[prost(string, tag = "3")]
        pub action_version: String,
        #[prost(string, tag = "4")]
        pub module_sha256: String,
        #[prost(string, tag = "5")]
        pub outcome: String,
        #[prost(string, tag = "6")]
        pub error: String,
        #[prost(bool, tag = "7")]
        pub failed_open: bool,
        #[prost(uint64, tag = "8")]
        pub duration_us: u64,
        #[prost(uint64, tag = "9")]
        pub fuel: u64,
        #[prost(message, repeated, tag = "10")]
        pub logs: Vec<LogLine>,
    }

    impl RunRecordV0 {
        pub fn into_current(self) -> RunRecord {
            let decision = Decision::from_name(&self.decision).unwrap_or(Decision::Unspecified);
            RunRecord {
                runner_id: self.runner_id,
                tenant: self.tenant,
                trigger: self.trigger,
                started_at_ms: self.started_at_ms,
                test: self.test,
                response: Some(ExecuteResponse {
                    run_id: self.run_id,
                    decision: decision as i32,
                    deny_reason: self.deny_reason,
                    duration_us: self.duration_us,
                    bindings: self
                        .bindings
                        .into_iter()
                        .map(|b| BindingResult {
                            outcome: Outcome::from_name(&b.outcome).unwrap_or(Outcome::Unspecified)
                                as i32,
                            binding_id: b.binding_id,
                            action_slug: b.action_slug,
                            action_version: b.action_version,
                            module_sha256: b.module_sha256,
                            error: b.error,
                            failed_open: b.failed_open,
                            duration_us: b.duration_us,
                            fuel: b.fuel,
                            logs: b.logs,
                            replay_divergence: String::new(),
                        })
                        .collect(),
                    // The old record kept no claims: empty objects, as a run
                    // that set none would have.
                    access_token_claims_json: "{}".into(),
                    id_token_claims_json: "{}".into(),
                    app_metadata_json: "{}".into(),
                    user_metadata_json: "{}".into(),
                    ..ExecuteResponse::default()
                }),
                replay: None,
                replay_omitted: String::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::legacy::{BindingRecordV0, RunRecordV0};
    use super::*;

    #[test]
    fn a_record_of_the_old_shape_reads_as_the_new_one() {
        let old = RunRecordV0 {
            run_id: "r1".into(),
            runner_id: "runner-1".into(),
            tenant: "acme".into(),
            trigger: "login.post-login".into(),
            decision: "deny".into(),
            deny_reason: "no".into(),
            started_at_ms: 7,
            duration_us: 9,
            bindings: vec![BindingRecordV0 {
                binding_id: "b1".into(),
                outcome: "out_of_fuel".into(),
                fuel: 11,
                logs: vec![LogLine {
                    level: "info".into(),
                    origin: "action".into(),
                    message: "hello".into(),
                    timestamp_ms: 3,
                }],
                ..BindingRecordV0::default()
            }],
            test: true,
        };
        let read = decode_record(&old.encode_to_vec()).expect("decodes");
        assert_eq!(read.run_id(), "r1");
        assert_eq!(read.decision(), Decision::Deny);
        assert_eq!(read.tenant, "acme");
        assert!(read.test);
        let binding = &read.bindings()[0];
        assert_eq!(binding.outcome(), Outcome::OutOfFuel);
        assert_eq!(binding.fuel, 11);
        assert_eq!(binding.logs[0].message, "hello");
    }

    #[test]
    fn a_record_of_the_new_shape_reads_unchanged() {
        let record = RunRecord {
            tenant: "acme".into(),
            response: Some(ExecuteResponse {
                run_id: "r2".into(),
                decision: Decision::Allow as i32,
                ..ExecuteResponse::default()
            }),
            ..RunRecord::default()
        };
        assert_eq!(
            decode_record(&record.encode_to_vec()).expect("decodes"),
            record
        );
    }

    #[test]
    fn names_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::from_name(outcome.name()), Some(outcome));
        }
        assert_eq!(Decision::from_name("deny"), Some(Decision::Deny));
        assert_eq!(Outcome::from_name("nonsense"), None);
    }
}
