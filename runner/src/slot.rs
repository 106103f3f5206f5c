//! Running a trigger slot: its bindings in order, a deny stops the rest,
//! effects accumulate, each binding fails open or closed as configured, and
//! the whole call has a budget.

use crate::flows::Binding;
use crate::report::{Effects, Outcome, RunReport};
use crate::sandbox::{ActionModule, CpuShare, RunRequest, Sandbox};
use actions_proto::catalog::Trigger;
use serde_json::Value;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

/// What happened to one binding.
#[derive(Debug, Clone)]
pub struct BindingRun {
    /// The binding.
    pub binding: Binding,
    /// Its run; `None` when an earlier binding's deny stopped the slot.
    pub report: Option<RunReport>,
    /// Whether its failure was passed over by its fail-open policy.
    pub failed_open: bool,
}

/// The result of a whole slot.
#[derive(Debug, Clone)]
pub struct SlotRun {
    /// The deny reason if the slot denied; `None` means allow.
    pub deny_reason: Option<String>,
    /// Effects merged across the bindings that allowed.
    pub effects: Effects,
    /// Per binding, in order.
    pub bindings: Vec<BindingRun>,
    /// Wall-clock time of the whole slot.
    pub duration: Duration,
}

impl SlotRun {
    /// `"deny"` if a binding denied (or failed closed), else `"allow"`.
    pub fn decision(&self) -> &'static str {
        if self.deny_reason.is_some() {
            "deny"
        } else {
            "allow"
        }
    }
}

/// Runs `bindings` for `event` within `budget`; `modules` finds each
/// binding's compiled module by hash. Long runs take turns in `cpu`, the
/// tenant's share.
pub async fn run_slot(
    sandbox: &Sandbox,
    cpu: &CpuShare,
    modules: impl Fn(&str) -> Option<ActionModule>,
    bindings: &[Binding],
    trigger: Trigger,
    event: &Value,
    budget: Duration,
) -> SlotRun {
    let started = Instant::now();
    let mut slot = SlotRun {
        deny_reason: None,
        effects: Effects::default(),
        bindings: Vec::with_capacity(bindings.len()),
        duration: Duration::ZERO,
    };
    for binding in bindings {
        if slot.deny_reason.is_some() {
            slot.bindings.push(BindingRun {
                binding: binding.clone(),
                report: None,
                failed_open: false,
            });
            continue;
        }
        let remaining = budget.saturating_sub(started.elapsed());
        let report = match modules(&binding.module_sha256) {
            _ if remaining.is_zero() => skipped_for_budget(),
            None => RunReport {
                outcome: Outcome::HostError {
                    message: format!(
                        "module {} is not loaded on this runner",
                        binding.module_sha256
                    ),
                },
                effects: Effects::default(),
                logs: Vec::new(),
                fuel_consumed: 0,
                duration: Duration::ZERO,
                inputs: None,
                replay_divergence: None,
            },
            Some(module) => {
                let span = tracing::info_span!(
                    "binding",
                    binding = %binding.id,
                    action = %binding.action_slug,
                    version = %binding.action_version,
                    trigger = %trigger,
                    outcome = tracing::field::Empty,
                    fuel = tracing::field::Empty,
                );
                let mut limits = binding.limits;
                limits.deadline_ms = limits
                    .deadline_ms
                    .min(u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX));
                let request = RunRequest {
                    action: module.clone(),
                    trigger,
                    event: event.clone(),
                    config: binding.config.clone(),
                    secrets: binding.secrets.clone(),
                    limits,
                    replay: binding.replay.clone(),
                };
                let report = sandbox
                    .run_in_share(request, cpu)
                    .instrument(span.clone())
                    .await;
                span.record("outcome", report.outcome.name());
                // As i64: OTLP has no unsigned integers, and a u64 would arrive as text.
                span.record(
                    "fuel",
                    i64::try_from(report.fuel_consumed).unwrap_or(i64::MAX),
                );
                report
            }
        };
        let mut failed_open = false;
        match &report.outcome {
            Outcome::Allowed => merge(&mut slot.effects, &report.effects),
            Outcome::Denied { reason } => slot.deny_reason = Some(reason.clone()),
            failure if binding.fail_open => {
                let _ = failure;
                failed_open = true;
            }
            failure => {
                let action = if binding.action_slug.is_empty() {
                    "the Action".to_owned()
                } else {
                    format!("the Action {}", binding.action_slug)
                };
                slot.deny_reason = Some(format!(
                    "{action} failed ({}) and its binding fails closed",
                    failure.name()
                ));
            }
        }
        slot.bindings.push(BindingRun {
            binding: binding.clone(),
            report: Some(report),
            failed_open,
        });
    }
    slot.duration = started.elapsed();
    slot
}

fn skipped_for_budget() -> RunReport {
    RunReport {
        outcome: Outcome::DeadlineExceeded,
        effects: Effects::default(),
        logs: Vec::new(),
        fuel_consumed: 0,
        duration: Duration::ZERO,
        inputs: None,
        replay_divergence: None,
    }
}

/// A later binding's claim or metadata key replaces an earlier one's; scope
/// changes apply in order.
fn merge(into: &mut Effects, from: &Effects) {
    into.access_token_claims.extend(
        from.access_token_claims
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    into.id_token_claims.extend(
        from.id_token_claims
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    into.app_metadata.extend(
        from.app_metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    into.user_metadata.extend(
        from.user_metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    for scope in &from.scopes_added {
        into.scopes_removed.retain(|s| s != scope);
        if !into.scopes_added.contains(scope) {
            into.scopes_added.push(scope.clone());
        }
    }
    for scope in &from.scopes_removed {
        into.scopes_added.retain(|s| s != scope);
        if !into.scopes_removed.contains(scope) {
            into.scopes_removed.push(scope.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_bindings_win_and_scopes_apply_in_order() {
        let mut merged = Effects::default();
        let mut first = Effects::default();
        first.access_token_claims.insert("a".into(), json!(1));
        first.access_token_claims.insert("b".into(), json!(1));
        first.scopes_added.push("read".into());
        let mut second = Effects::default();
        second.access_token_claims.insert("b".into(), json!(2));
        second.scopes_removed.push("read".into());
        merge(&mut merged, &first);
        merge(&mut merged, &second);
        assert_eq!(
            merged.access_token_claims,
            json!({ "a": 1, "b": 2 })
                .as_object()
                .cloned()
                .unwrap_or_default()
        );
        assert!(merged.scopes_added.is_empty());
        assert_eq!(merged.scopes_removed, ["read"]);
    }
}
