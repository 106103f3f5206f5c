//! Replays of recorded runs: the bindings a replay runs, built from the
//! record, and where the replayed run differs from the recorded one.
//!
//! Differences are listed in the order the run produced them, so that the
//! first is where the two runs part: for each binding, the first read its
//! record could not answer (`inputs`), its log lines, its outcome and error;
//! then the slot's decision, deny reason, claims, scopes and metadata.
//! Times and fuel are not compared: they are measurements, not results.

use actions_proto::controlplane::v1::ReplayDifference;
use actions_proto::runner::v1::{BindingResult, ExecuteResponse, LogLine, Outcome};
use serde_json::{Map, Value};

/// At most this many differences are listed; a last entry counts the rest.
pub const MAX_DIFFERENCES: usize = 100;

/// Every difference between what a run answered and what its replay did.
pub fn differences(
    recorded: &ExecuteResponse,
    replayed: &ExecuteResponse,
) -> Vec<ReplayDifference> {
    let mut found = Found::default();
    let count = recorded.bindings.len().max(replayed.bindings.len());
    for i in 0..count {
        let (a, b) = (recorded.bindings.get(i), replayed.bindings.get(i));
        let at = |what: &str| format!("bindings[{i}].{what}");
        let divergence = b.map(|b| b.replay_divergence.as_str()).unwrap_or("");
        if !divergence.is_empty() {
            found.text(at("inputs"), "", divergence);
        }
        let (la, lb) = (logs_of(a), logs_of(b));
        for j in 0..la.len().max(lb.len()) {
            found.text(
                at(&format!("logs[{j}]")),
                &la.get(j).map(log_text).unwrap_or_default(),
                &lb.get(j).map(log_text).unwrap_or_default(),
            );
        }
        let outcome =
            |r: Option<&BindingResult>| r.map(|r| outcome_name(r.outcome())).unwrap_or_default();
        found.text(at("outcome"), &outcome(a), &outcome(b));
        let error = |r: Option<&BindingResult>| r.map(|r| r.error.clone()).unwrap_or_default();
        found.text(at("error"), &error(a), &error(b));
    }
    found.text(
        "decision".into(),
        recorded.decision().name(),
        replayed.decision().name(),
    );
    found.text(
        "deny_reason".into(),
        &recorded.deny_reason,
        &replayed.deny_reason,
    );
    let objects = [
        (
            "access_token_claims",
            &recorded.access_token_claims_json,
            &replayed.access_token_claims_json,
        ),
        (
            "id_token_claims",
            &recorded.id_token_claims_json,
            &replayed.id_token_claims_json,
        ),
        (
            "app_metadata",
            &recorded.app_metadata_json,
            &replayed.app_metadata_json,
        ),
        (
            "user_metadata",
            &recorded.user_metadata_json,
            &replayed.user_metadata_json,
        ),
    ];
    for (name, a, b) in objects {
        found.object(name, a, b);
    }
    found.list(
        "scopes_added",
        &recorded.scopes_added,
        &replayed.scopes_added,
    );
    found.list(
        "scopes_removed",
        &recorded.scopes_removed,
        &replayed.scopes_removed,
    );
    found.finish()
}

#[derive(Default)]
struct Found {
    listed: Vec<ReplayDifference>,
    more: usize,
}

impl Found {
    fn push(&mut self, path: String, recorded: String, replayed: String) {
        if self.listed.len() < MAX_DIFFERENCES {
            self.listed.push(ReplayDifference {
                path,
                recorded,
                replayed,
            });
        } else {
            self.more += 1;
        }
    }

    /// Text on each side; empty text is "absent".
    fn text(&mut self, path: String, recorded: &str, replayed: &str) {
        if recorded != replayed {
            self.push(path, json_text(recorded), json_text(replayed));
        }
    }

    /// JSON objects (as text), key by key.
    fn object(&mut self, name: &str, recorded: &str, replayed: &str) {
        let (a, b) = (parse_object(recorded), parse_object(replayed));
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let (va, vb) = (a.get(key), b.get(key));
            if va != vb {
                let show = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_default();
                self.push(format!("{name}.{key}"), show(va), show(vb));
            }
        }
    }

    fn list(&mut self, name: &str, recorded: &[String], replayed: &[String]) {
        if recorded != replayed {
            let show = |l: &[String]| {
                if l.is_empty() {
                    String::new()
                } else {
                    Value::from(l.to_vec()).to_string()
                }
            };
            self.push(name.into(), show(recorded), show(replayed));
        }
    }

    fn finish(mut self) -> Vec<ReplayDifference> {
        if self.more > 0 {
            self.listed.push(ReplayDifference {
                path: format!("… {} more differences", self.more),
                recorded: String::new(),
                replayed: String::new(),
            });
        }
        self.listed
    }
}

fn logs_of(result: Option<&BindingResult>) -> &[LogLine] {
    result.map_or(&[], |r| r.logs.as_slice())
}

fn json_text(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        Value::from(text).to_string()
    }
}

fn parse_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A log line as compared: its level, who wrote it and its text (its time
/// is a measurement).
fn log_text(line: &LogLine) -> String {
    format!("{} {}: {}", line.origin, line.level, line.message)
}

fn outcome_name(outcome: Outcome) -> String {
    outcome
        .as_str_name()
        .trim_start_matches("OUTCOME_")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actions_proto::runner::v1::Decision;

    fn response(claims: &str, logs: &[&str]) -> ExecuteResponse {
        ExecuteResponse {
            decision: Decision::Allow as i32,
            access_token_claims_json: claims.into(),
            bindings: vec![BindingResult {
                outcome: Outcome::Allowed as i32,
                logs: logs
                    .iter()
                    .map(|m| LogLine {
                        level: "log".into(),
                        origin: "action".into(),
                        message: (*m).into(),
                        timestamp_ms: 1,
                    })
                    .collect(),
                duration_us: 5,
                fuel: 9,
                ..BindingResult::default()
            }],
            duration_us: 7,
            ..ExecuteResponse::default()
        }
    }

    #[test]
    fn the_same_results_at_other_times_are_identical() {
        let a = response(r#"{"a":1,"b":[1,2]}"#, &["one", "two"]);
        let mut b = response(r#"{"b":[1,2],"a":1}"#, &["one", "two"]);
        b.duration_us = 99;
        b.bindings[0].fuel = 1;
        b.bindings[0].logs[0].timestamp_ms = 2;
        assert_eq!(differences(&a, &b), []);
    }

    #[test]
    fn the_first_difference_is_where_the_runs_part() {
        let a = response(r#"{"tier":"gold"}"#, &["one", "two"]);
        let mut b = response(r#"{"tier":"silver","new":true}"#, &["one", "2"]);
        b.bindings[0].replay_divergence = "fetch #1: …".into();
        let found = differences(&a, &b);
        let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "bindings[0].inputs",
                "bindings[0].logs[1]",
                "access_token_claims.new",
                "access_token_claims.tier",
            ]
        );
        assert_eq!(found[1].recorded, r#""action log: two""#);
        assert_eq!(found[2].recorded, "");
        assert_eq!(found[3].replayed, r#""silver""#);
    }

    #[test]
    fn a_flood_of_differences_is_capped_and_counted() {
        let many: Vec<String> = (0..150).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let found = differences(&response("{}", &refs), &response("{}", &[]));
        assert_eq!(found.len(), MAX_DIFFERENCES + 1);
        assert_eq!(found[MAX_DIFFERENCES].path, "… 50 more differences");
    }
}
