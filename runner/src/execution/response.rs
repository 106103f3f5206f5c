//! The one conversion from a slot run to what leaves the runner: the
//! `ExecuteResponse` the caller gets (a test run's too), which is also the
//! heart of the run's record. Secrets are redacted and text is capped here,
//! once, so the caller and the record always agree.
//!
//! A binding's secrets are redacted from everything a run can put out:
//! logs, error text, the deny reason, claims, metadata and scopes (values
//! and keys). Each secret is a JSON value of any shape; what is redacted is
//! the text of each string and number inside it (at any depth, and its
//! JSON-escaped form), wherever it appears. Booleans and `null` carry no
//! secret worth the name, and text shorter than [`MIN_SECRET_LEN`] bytes is
//! left alone: a value that short is guessed in a million tries, and
//! redacting it would blank out ordinary words and numbers ("1", "true",
//! "2024").

use crate::flows::limits_to_wire;
use crate::replay::RunInputs;
use crate::report::{Effects, LogLine, Outcome, RunReport};
use crate::slot::{BindingRun, SlotRun};
use actions_proto::controlplane::v1::RunRecord;
use actions_proto::runner::v1 as pb;
use actions_proto::sizes::MAX_REPLAY_BYTES;
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most bytes of log text one binding's result carries; past it the line
/// that crosses is cut and the rest are left out.
pub const MAX_BINDING_LOG_BYTES: usize = 64 * 1024;
/// Most bytes of a binding's error text.
pub const MAX_ERROR_BYTES: usize = 4 * 1024;
/// What a secret's value becomes wherever it would show.
pub const REDACTED: &str = actions_proto::record::REDACTED;
/// Secret text shorter than this, in bytes, is not redacted: it would blank
/// out ordinary words and numbers, and is no secret anyway.
pub const MIN_SECRET_LEN: usize = actions_proto::sizes::MIN_SECRET_VALUE_BYTES;

/// The response to a slot run.
pub fn response_of(run_id: String, slot: &SlotRun) -> pb::ExecuteResponse {
    let every_secret = Secrets::of(slot.bindings.iter());
    let json =
        |map: &Map<String, Value>| every_secret.value(&Value::Object(map.clone())).to_string();
    let text =
        |texts: &[String]| -> Vec<String> { texts.iter().map(|t| every_secret.text(t)).collect() };
    let Effects {
        access_token_claims,
        id_token_claims,
        scopes_added,
        scopes_removed,
        app_metadata,
        user_metadata,
    } = &slot.effects;
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
            .map(|reason| every_secret.text(reason))
            .unwrap_or_default(),
        access_token_claims_json: json(access_token_claims),
        id_token_claims_json: json(id_token_claims),
        scopes_added: text(scopes_added),
        scopes_removed: text(scopes_removed),
        app_metadata_json: json(app_metadata),
        user_metadata_json: json(user_metadata),
        bindings: slot
            .bindings
            .iter()
            .map(|run| binding_result(run, &every_secret))
            .collect(),
        duration_us: micros(slot.duration),
    }
}

/// Why a record keeps no replay data when its runner is told to keep none.
pub const REPLAY_DATA_OFF: &str =
    "its runner keeps no replay data (records.replay_data = false in its settings)";

/// The record of a run: its response, what only the record needs, and what
/// a replay of it needs (see [`replay_data`]) unless `event` is `None`:
/// the runner keeps no replay data.
#[allow(clippy::too_many_arguments)]
pub fn record_of(
    response: pb::ExecuteResponse,
    slot: &SlotRun,
    event: Option<&Value>,
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
    let kept = event.ok_or_else(|| REPLAY_DATA_OFF.to_owned());
    let (replay, replay_omitted) = match kept.and_then(|event| replay_data(slot, event)) {
        Ok(replay) => (Some(replay), String::new()),
        Err(why) => (None, why),
    };
    RunRecord {
        runner_id: runner_id.to_owned(),
        tenant: tenant.to_owned(),
        trigger: trigger.to_owned(),
        started_at_ms,
        test,
        response: Some(response),
        replay,
        replay_omitted,
    }
}

/// What a replay of the run needs: the event, and per binding its config,
/// limits, policy, secret names and everything it read, redacted of every
/// secret of the slot like the rest of the record; or why the record
/// cannot keep it.
pub fn replay_data(slot: &SlotRun, event: &Value) -> Result<pb::ReplayData, String> {
    let every_secret = Secrets::of(slot.bindings.iter());
    let mut bindings = Vec::with_capacity(slot.bindings.len());
    for run in &slot.bindings {
        let binding = &run.binding;
        let (random_seed, clock, fetches) = match &run.report {
            None => RunInputs::default().to_wire(str::to_owned),
            Some(report) => report
                .inputs
                .as_ref()
                .ok_or_else(|| {
                    format!(
                        "binding {} read more from outside (clock readings and fetch answers) \
                         than the {} KiB a record keeps for replay",
                        binding.id,
                        MAX_REPLAY_BYTES / 1024
                    )
                })?
                .to_wire(|text| every_secret.text(text)),
        };
        bindings.push(pb::BindingInputs {
            binding_id: binding.id.clone(),
            config_json: every_secret.value(&binding.config).to_string(),
            fail_open: binding.fail_open,
            limits: Some(limits_to_wire(&binding.limits)),
            secret_names: binding.secrets.keys().cloned().collect(),
            random_seed,
            clock,
            fetches,
        });
    }
    let replay = pb::ReplayData {
        event_json: every_secret.value(event).to_string(),
        bindings,
    };
    let bytes = prost::Message::encoded_len(&replay);
    if bytes > MAX_REPLAY_BYTES {
        return Err(format!(
            "the event and what the run read take {bytes} bytes, over the {} KiB a record \
             keeps for replay",
            MAX_REPLAY_BYTES / 1024
        ));
    }
    Ok(replay)
}

/// One binding's result, redacted of every secret of the slot (a later
/// binding may log an earlier one's secret through what it was handed).
fn binding_result(run: &BindingRun, secrets: &Secrets) -> pb::BindingResult {
    let report: Option<&RunReport> = run.report.as_ref();
    let error = report
        .and_then(|r| r.outcome.error_text())
        .map(|text| cap(secrets.text(&text), MAX_ERROR_BYTES, " [cut]"))
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
        logs: report.map_or_else(Vec::new, |r| log_lines(&r.logs, secrets)),
        replay_divergence: report
            .and_then(|r| r.replay_divergence.as_deref())
            .map(|text| secrets.text(text))
            .unwrap_or_default(),
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
fn log_lines(lines: &[LogLine], secrets: &Secrets) -> Vec<pb::LogLine> {
    let mut budget = MAX_BINDING_LOG_BYTES;
    lines
        .iter()
        .map_while(|line| {
            if budget == 0 {
                return None;
            }
            let message = cap(secrets.text(&line.message), budget, " [cut: log limit]");
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

/// `report` as a run of it with `secrets` would leave the runner: every
/// secret redacted from its logs, error text, deny reason and effects, by
/// the same rule as [`response_of`]. For runs outside the runner's
/// service (`action test`), so that local results and test cases see what
/// production shows.
pub fn redacted_report(report: &RunReport, secrets: &Map<String, Value>) -> RunReport {
    let secrets = Secrets::from_values(secrets.values());
    let text = |t: &String| secrets.text(t);
    let map = |m: &Map<String, Value>| match secrets.value(&Value::Object(m.clone())) {
        Value::Object(redacted) => redacted,
        _ => Map::new(),
    };
    let outcome = match &report.outcome {
        Outcome::Denied { reason } => Outcome::Denied {
            reason: text(reason),
        },
        Outcome::GuestError {
            name,
            message,
            stack,
        } => Outcome::GuestError {
            name: name.clone(),
            message: text(message),
            stack: text(stack),
        },
        Outcome::HostError { message } => Outcome::HostError {
            message: text(message),
        },
        other => other.clone(),
    };
    let effects = &report.effects;
    RunReport {
        outcome,
        effects: Effects {
            access_token_claims: map(&effects.access_token_claims),
            id_token_claims: map(&effects.id_token_claims),
            scopes_added: effects.scopes_added.iter().map(text).collect(),
            scopes_removed: effects.scopes_removed.iter().map(text).collect(),
            app_metadata: map(&effects.app_metadata),
            user_metadata: map(&effects.user_metadata),
        },
        logs: report
            .logs
            .iter()
            .map(|line| LogLine {
                message: text(&line.message),
                ..line.clone()
            })
            .collect(),
        replay_divergence: report.replay_divergence.as_ref().map(text),
        ..report.clone()
    }
}

/// The texts to redact: every string and number inside the bindings'
/// secrets, at least [`MIN_SECRET_LEN`] bytes long, longest first (so that
/// a secret inside another is not redacted first, leaving the rest of the
/// longer one in view).
struct Secrets(Vec<String>);

impl Secrets {
    fn of<'a>(runs: impl Iterator<Item = &'a BindingRun>) -> Self {
        Self::from_values(runs.flat_map(|run| run.binding.secrets.values()))
    }

    fn from_values<'a>(values: impl Iterator<Item = &'a Value>) -> Self {
        let mut texts = Vec::new();
        for value in values {
            leaf_texts(value, &mut texts);
        }
        texts.retain(|t| t.len() >= MIN_SECRET_LEN);
        texts.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        texts.dedup();
        Self(texts)
    }

    /// `text` with every secret replaced by [`REDACTED`].
    fn text(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), REDACTED)
        })
    }

    /// `value` with every secret redacted from its strings, its numbers
    /// (a number that shows one becomes the redacted text) and its keys.
    fn value(&self, value: &Value) -> Value {
        if self.0.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Number(n) => {
                let shown = n.to_string();
                let redacted = self.text(&shown);
                if redacted == shown {
                    value.clone()
                } else {
                    Value::String(redacted)
                }
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.text(k), self.value(v)))
                    .collect(),
            ),
            Value::Bool(_) | Value::Null => value.clone(),
        }
    }
}

/// The text of each string and number in `value`; a string also as JSON
/// escapes it (how `JSON.stringify` would log it), and a number also as
/// JavaScript writes it, when that differs.
fn leaf_texts(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            let escaped = Value::String(s.clone()).to_string();
            let escaped = &escaped[1..escaped.len() - 1];
            if escaped != s {
                into.push(escaped.to_owned());
            }
            into.push(s.clone());
        }
        Value::Number(n) => {
            let text = n.to_string();
            // JavaScript writes a positive exponent with its sign.
            if text.contains('e') && !text.contains("e-") {
                into.push(text.replace('e', "e+"));
            }
            into.push(text);
        }
        Value::Array(items) => items.iter().for_each(|v| leaf_texts(v, into)),
        Value::Object(map) => map.values().for_each(|v| leaf_texts(v, into)),
        Value::Bool(_) | Value::Null => {}
    }
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

    fn secrets(values: Value) -> Secrets {
        let mut texts = Vec::new();
        leaf_texts(&values, &mut texts);
        texts.retain(|t| t.len() >= MIN_SECRET_LEN);
        texts.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        Secrets(texts)
    }

    #[test]
    fn every_occurrence_of_every_secret_is_redacted() {
        let secrets = secrets(serde_json::json!(["abcd1234", "zzzz99"]));
        assert_eq!(
            secrets.text("k=abcd1234 again abcd1234, other=zzzz99"),
            "k=[redacted] again [redacted], other=[redacted]"
        );
    }

    #[test]
    fn secrets_of_every_json_type_are_redacted_and_short_ones_are_not() {
        let secrets = secrets(serde_json::json!({
            "pin": 98765432,
            "nested": { "list": ["in-an-array", { "deep": 1.5e300 }] },
            "quoted": "say \"hi\"",
            "flag": true,
            "short": 42,
            "word": "user",
        }));
        let logged = r#"98765432 in-an-array 1.5e+300 {"q":"say \"hi\""} true 42 user"#;
        assert_eq!(
            secrets.text(logged),
            r#"[redacted] [redacted] [redacted] {"q":"[redacted]"} true 42 user"#
        );
        let claims = serde_json::json!({ "n": 98765432, "in-an-array": [true, "x in-an-array"], "short": 42 });
        assert_eq!(
            secrets.value(&claims),
            serde_json::json!({ "n": REDACTED, REDACTED: [true, "x [redacted]"], "short": 42 })
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
        let kept = log_lines(&lines, &Secrets(Vec::new()));
        assert_eq!(
            kept.len(),
            2,
            "the line that crosses is cut, the rest left out"
        );
        assert!(kept[1].message.ends_with("[cut: log limit]"));
        assert_eq!(kept[1].message.len(), 10 + " [cut: log limit]".len());
    }
}
