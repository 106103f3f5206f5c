//! The one conversion from a slot run to what leaves the runner: the
//! `ExecuteResponse` the caller gets, which is also the heart of the run's
//! record. Secrets are redacted and text is capped here, once, so the
//! caller and the record always agree.

use crate::report::{Effects, LogLine, Outcome, RunReport};
use crate::slot::{BindingRun, SlotRun};
use actions_proto::controlplane::v1::RunRecord;
use actions_proto::runner::v1 as pb;
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most bytes of log text one binding's result carries; past it the line
/// that crosses is cut and the rest are left out.
pub const MAX_BINDING_LOG_BYTES: usize = 64 * 1024;
/// Most bytes of a binding's error text.
pub const MAX_ERROR_BYTES: usize = 4 * 1024;
/// What a secret's value becomes wherever it would show.
pub const REDACTED: &str = "[redacted]";
/// Secrets shorter than this are not redacted: they would blank out
/// ordinary words, and are no secret anyway.
const MIN_SECRET_LEN: usize = 4;

/// The response to a slot run.
pub fn response_of(run_id: String, slot: &SlotRun) -> pb::ExecuteResponse {
    let json = |map: &Map<String, Value>| Value::Object(map.clone()).to_string();
    let Effects {
        access_token_claims,
        id_token_claims,
        scopes_added,
        scopes_removed,
        app_metadata,
        user_metadata,
    } = &slot.effects;
    let every_secret: Vec<&str> = slot.bindings.iter().flat_map(secrets_of).collect();
    pb::ExecuteResponse {
        run_id,
        decision: if slot.deny_reason.is_some() {
            pb::Decision::Deny
        } else {
            pb::Decision::Allow
        } as i32,
        deny_reason: slot
            .deny_reason
            .as_deref()
            .map(|reason| redact(reason, &every_secret))
            .unwrap_or_default(),
        access_token_claims_json: json(access_token_claims),
        id_token_claims_json: json(id_token_claims),
        scopes_added: scopes_added.clone(),
        scopes_removed: scopes_removed.clone(),
        app_metadata_json: json(app_metadata),
        user_metadata_json: json(user_metadata),
        bindings: slot.bindings.iter().map(binding_result).collect(),
        duration_us: micros(slot.duration),
    }
}

/// The record of a run: its response, and what only the record needs.
pub fn record_of(
    response: pb::ExecuteResponse,
    runner_id: &str,
    tenant: &str,
    trigger: &str,
    test: bool,
    duration: Duration,
) -> RunRecord {
    let started_at_ms = SystemTime::now()
        .checked_sub(duration)
        .unwrap_or_else(SystemTime::now)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    RunRecord {
        runner_id: runner_id.to_owned(),
        tenant: tenant.to_owned(),
        trigger: trigger.to_owned(),
        started_at_ms,
        test,
        response: Some(response),
    }
}

fn binding_result(run: &BindingRun) -> pb::BindingResult {
    let report: Option<&RunReport> = run.report.as_ref();
    let secrets: Vec<&str> = secrets_of(run).collect();
    let error = report
        .and_then(|r| r.outcome.error_text())
        .map(|text| cap(redact(&text, &secrets), MAX_ERROR_BYTES, " [cut]"))
        .unwrap_or_default();
    let binding = &run.binding;
    pb::BindingResult {
        binding_id: binding.id.clone(),
        action_slug: binding.action_slug.clone(),
        action_version: binding.action_version.clone(),
        module_sha256: binding.module_sha256.clone(),
        outcome: outcome(report.map(|r| &r.outcome)) as i32,
        error,
        failed_open: run.failed_open,
        duration_us: report.map_or(0, |r| micros(r.duration)),
        fuel: report.map_or(0, |r| r.fuel_consumed),
        logs: report.map_or_else(Vec::new, |r| log_lines(&r.logs, &secrets)),
    }
}

fn outcome(outcome: Option<&Outcome>) -> pb::Outcome {
    match outcome {
        None => pb::Outcome::Skipped,
        Some(Outcome::Allowed) => pb::Outcome::Allowed,
        Some(Outcome::Denied { .. }) => pb::Outcome::Denied,
        Some(Outcome::OutOfFuel) => pb::Outcome::OutOfFuel,
        Some(Outcome::DeadlineExceeded) => pb::Outcome::DeadlineExceeded,
        Some(Outcome::MemoryLimitExceeded) => pb::Outcome::MemoryLimitExceeded,
        Some(Outcome::LogLimitExceeded) => pb::Outcome::LogLimitExceeded,
        Some(Outcome::GuestError { .. }) => pb::Outcome::GuestError,
        Some(Outcome::HostError { .. }) => pb::Outcome::HostError,
    }
}

/// Log lines, redacted, within [`MAX_BINDING_LOG_BYTES`] of text.
fn log_lines(lines: &[LogLine], secrets: &[&str]) -> Vec<pb::LogLine> {
    let mut budget = MAX_BINDING_LOG_BYTES;
    lines
        .iter()
        .map_while(|line| {
            if budget == 0 {
                return None;
            }
            let message = cap(redact(&line.message, secrets), budget, " [cut: log limit]");
            budget = budget.saturating_sub(message.len());
            Some(pb::LogLine {
                level: line.level.as_str().into(),
                origin: line.origin.as_str().into(),
                message,
                timestamp_ms: line.timestamp_ms,
            })
        })
        .collect()
}

/// The string values of the binding's secrets worth redacting.
fn secrets_of(run: &BindingRun) -> impl Iterator<Item = &str> {
    run.binding
        .secrets
        .values()
        .filter_map(Value::as_str)
        .filter(|s| s.len() >= MIN_SECRET_LEN)
}

fn redact(text: &str, secrets: &[&str]) -> String {
    secrets.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret, REDACTED)
    })
}

/// `text` within `limit` bytes (cut at a character boundary, `marker` added).
fn cap(mut text: String, limit: usize, marker: &str) -> String {
    if text.len() > limit {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str(marker);
    }
    text
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_a_character_boundary() {
        assert_eq!(cap("héllo".into(), 2, "…"), "h…");
        assert_eq!(cap("hello".into(), 10, "…"), "hello");
    }

    #[test]
    fn every_occurrence_of_every_secret_is_redacted() {
        assert_eq!(
            redact(
                "k=abcd1234 again abcd1234, other=zzzz9",
                &["abcd1234", "zzzz9"]
            ),
            "k=[redacted] again [redacted], other=[redacted]"
        );
    }

    #[test]
    fn logs_stop_at_the_budget() {
        let line = |message: String| LogLine {
            level: crate::report::LogLevel::Info,
            origin: crate::report::LogOrigin::Action,
            message,
            timestamp_ms: 0,
        };
        let lines = vec![
            line("a".repeat(MAX_BINDING_LOG_BYTES - 10)),
            line("b".repeat(100)),
            line("c".repeat(10)),
        ];
        let kept = log_lines(&lines, &[]);
        assert_eq!(
            kept.len(),
            2,
            "the line that crosses is cut, the rest left out"
        );
        assert!(kept[1].message.ends_with("[cut: log limit]"));
        assert_eq!(kept[1].message.len(), 10 + " [cut: log limit]".len());
    }
}
