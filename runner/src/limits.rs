//! Per-run limits, and the operator's ceilings over them.

use actions_proto::runner::v1 as wire;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What one run may use. Every field is a hard stop with its own outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunLimits {
    /// Wasm fuel (about 4-5 G units per second of CPU here): a deterministic CPU bound.
    pub fuel: u64,
    /// Wall-clock budget, time in host calls (fetch) included, in milliseconds.
    pub deadline_ms: u64,
    /// The plugin's linear memory (the QuickJS heap and stack), in bytes.
    pub memory_bytes: u64,
    /// Bytes of console output.
    pub log_bytes: u64,
    /// Bytes of token claims and metadata patches together.
    pub effect_bytes: u64,
    /// Number of `api.fetch` calls.
    pub fetch_calls: u32,
    /// Request body size of one `api.fetch`.
    pub fetch_request_bytes: u64,
    /// Response body size of one `api.fetch`.
    pub fetch_response_bytes: u64,
    /// Timeout of one `api.fetch` (capped by what is left of the deadline).
    pub fetch_timeout_ms: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits::from(&actions_proto::limits::DEFAULTS)
    }
}

impl From<&wire::Limits> for RunLimits {
    /// Field for field, zeros included (see `flows::limits_from_wire` for
    /// the wire's "0 means the default").
    fn from(l: &wire::Limits) -> Self {
        RunLimits {
            fuel: l.fuel,
            deadline_ms: l.deadline_ms,
            memory_bytes: l.memory_bytes,
            log_bytes: l.log_bytes,
            effect_bytes: l.effect_bytes,
            fetch_calls: l.fetch_calls,
            fetch_request_bytes: l.fetch_request_bytes,
            fetch_response_bytes: l.fetch_response_bytes,
            fetch_timeout_ms: l.fetch_timeout_ms,
        }
    }
}

impl RunLimits {
    /// The wall-clock deadline.
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    /// These limits, each lowered to the operator's ceiling where it is above it.
    pub fn capped_by(&self, ceiling: &RunLimits) -> RunLimits {
        RunLimits {
            fuel: self.fuel.min(ceiling.fuel),
            deadline_ms: self.deadline_ms.min(ceiling.deadline_ms),
            memory_bytes: self.memory_bytes.min(ceiling.memory_bytes),
            log_bytes: self.log_bytes.min(ceiling.log_bytes),
            effect_bytes: self.effect_bytes.min(ceiling.effect_bytes),
            fetch_calls: self.fetch_calls.min(ceiling.fetch_calls),
            fetch_request_bytes: self.fetch_request_bytes.min(ceiling.fetch_request_bytes),
            fetch_response_bytes: self.fetch_response_bytes.min(ceiling.fetch_response_bytes),
            fetch_timeout_ms: self.fetch_timeout_ms.min(ceiling.fetch_timeout_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_only_lower() {
        let asked = RunLimits {
            fuel: 10,
            deadline_ms: 10_000,
            ..RunLimits::default()
        };
        let capped = asked.capped_by(&RunLimits::default());
        assert_eq!(capped.fuel, 10);
        assert_eq!(capped.deadline_ms, RunLimits::default().deadline_ms);
    }
}
