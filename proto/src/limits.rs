//! Per-binding limits: the defaults a binding runs with when it asks for
//! nothing, the ceilings an operator allows by default, and how a request
//! is checked against ceilings. One source for the runner (which enforces
//! them) and the control plane (which refuses a binding that asks for more).

use crate::runner::v1::Limits;

/// What a binding runs with when it sets nothing (0 on the wire).
pub const DEFAULTS: Limits = Limits {
    fuel: 2_000_000_000,
    deadline_ms: 3_000,
    memory_bytes: 64 * 1024 * 1024,
    log_bytes: 64 * 1024,
    fetch_calls: 10,
    effect_bytes: 64 * 1024,
    fetch_request_bytes: 256 * 1024,
    fetch_response_bytes: 1024 * 1024,
    fetch_timeout_ms: 2_000,
};

/// The operator's ceilings when the settings do not say: no binding may
/// ask for more, and runners cap every run at them.
pub const CEILINGS: Limits = Limits {
    fuel: 20_000_000_000,
    deadline_ms: 30_000,
    memory_bytes: 256 * 1024 * 1024,
    log_bytes: 1024 * 1024,
    fetch_calls: 50,
    effect_bytes: 1024 * 1024,
    fetch_request_bytes: 4 * 1024 * 1024,
    fetch_response_bytes: 16 * 1024 * 1024,
    fetch_timeout_ms: 30_000,
};

/// A limit asked for above its ceiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverCeiling {
    /// The field, as the proto and the settings name it (`fuel`, `deadline_ms`, …).
    pub field: &'static str,
    /// What was asked.
    pub asked: u64,
    /// The most allowed.
    pub ceiling: u64,
}

impl Limits {
    /// Every field with its proto name, in field order.
    pub fn fields(&self) -> [(&'static str, u64); 9] {
        [
            ("fuel", self.fuel),
            ("deadline_ms", self.deadline_ms),
            ("memory_bytes", self.memory_bytes),
            ("log_bytes", self.log_bytes),
            ("fetch_calls", u64::from(self.fetch_calls)),
            ("effect_bytes", self.effect_bytes),
            ("fetch_request_bytes", self.fetch_request_bytes),
            ("fetch_response_bytes", self.fetch_response_bytes),
            ("fetch_timeout_ms", self.fetch_timeout_ms),
        ]
    }

    /// The fields set (non-zero) above `ceilings`, in field order.
    pub fn over(&self, ceilings: &Limits) -> Vec<OverCeiling> {
        self.fields()
            .into_iter()
            .zip(ceilings.fields())
            .filter(|((_, asked), (_, ceiling))| *asked != 0 && asked > ceiling)
            .map(|((field, asked), (_, ceiling))| OverCeiling {
                field,
                asked,
                ceiling,
            })
            .collect()
    }

    /// Whether nothing is set: the binding runs with the defaults.
    pub fn is_default(&self) -> bool {
        self.fields().iter().all(|(_, value)| *value == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_set_fields_above_their_ceiling_are_reported() {
        let asked = Limits {
            fuel: CEILINGS.fuel + 1,
            deadline_ms: CEILINGS.deadline_ms,
            fetch_calls: CEILINGS.fetch_calls + 5,
            ..Limits::default()
        };
        assert_eq!(
            asked.over(&CEILINGS),
            vec![
                OverCeiling {
                    field: "fuel",
                    asked: CEILINGS.fuel + 1,
                    ceiling: CEILINGS.fuel
                },
                OverCeiling {
                    field: "fetch_calls",
                    asked: u64::from(CEILINGS.fetch_calls) + 5,
                    ceiling: u64::from(CEILINGS.fetch_calls)
                },
            ]
        );
        assert!(Limits::default().over(&CEILINGS).is_empty());
        assert!(Limits::default().is_default());
        assert!(
            DEFAULTS.over(&CEILINGS).is_empty(),
            "the defaults fit the default ceilings"
        );
    }
}
