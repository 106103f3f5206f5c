//! Test cases of a package: `tests/*.json`, each an event, a config, a
//! trigger and what to expect.
//!
//! ```json
//! { "trigger": "login.post-login",
//!   "event": "../events/gold-user.json",
//!   "config": { "allowed_domains": ["example.com"] },
//!   "expect": { "decision": "allow",
//!               "access_token_claims": { "https://example.com/tier": "gold" },
//!               "logs": ["tier is gold"] } }
//! ```
//! `event` is an object or a path relative to the case file. `inputs`
//! (optional, written by `action replay --save-case`) holds what a recorded
//! run read: its clock readings, random seed and fetch answers, which the
//! case's run is given instead of the clock, randomness and network. In `expect`,
//! every key given is checked: `decision`, `outcome` and `reason` exactly,
//! claims and metadata as whole objects, `logs` as substrings that must each
//! appear in some log line.

use crate::{Status, output};
use actions_runner::execution::response::redacted_report;
use actions_runner::replay::RunInputs;
use actions_runner::{ActionModule, RunLimits, RunRequest, Sandbox, Trigger};
use anyhow::{Context as _, bail};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    description: String,
    #[serde(default)]
    trigger: Option<String>,
    event: Value,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    secrets: Map<String, Value>,
    /// What a recorded run read (clocks, random seed, fetch answers), so that
    /// the case runs exactly as it did: `action replay --save-case` writes it.
    #[serde(default)]
    inputs: Option<RunInputs>,
    expect: Map<String, Value>,
}

const EXACT_KEYS: &[&str] = &[
    "decision",
    "reason",
    "outcome",
    "access_token_claims",
    "id_token_claims",
    "scopes_added",
    "scopes_removed",
    "app_metadata",
    "user_metadata",
];

/// What every case of one `action test` shares.
pub(crate) struct Shared {
    /// The limits of each run.
    pub(crate) limits: RunLimits,
    /// `--secrets`: under each case's own.
    pub(crate) secrets: Map<String, Value>,
}

pub(crate) fn run_all(
    runtime: &tokio::runtime::Runtime,
    sandbox: &Sandbox,
    action: &ActionModule,
    package: &Path,
    shared: Shared,
    json: bool,
) -> anyhow::Result<Status> {
    let Shared { limits, secrets } = shared;
    let dir = package.join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("no --event given and no test cases in {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "no --event given and {} holds no *.json cases",
            dir.display()
        );
    }
    let mut results = Vec::new();
    let mut failed = 0;
    for file in &files {
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let case = load_case(file)?;
        let trigger: Trigger = case
            .trigger
            .as_deref()
            .unwrap_or("login.post-login")
            .parse()
            .with_context(|| format!("{}: trigger", file.display()))?;
        let event = match case.event {
            Value::String(path) => read_json(&file.parent().unwrap_or(Path::new(".")).join(path))?,
            other => other,
        };
        let mut case_secrets = secrets.clone();
        case_secrets.extend(case.secrets);
        let report = runtime.block_on(sandbox.run(RunRequest {
            action: action.clone(),
            trigger,
            event,
            config: case.config.unwrap_or_else(|| Value::Object(Map::new())),
            secrets: case_secrets.clone(),
            limits,
            replay: case.inputs.map(Arc::new),
        }));
        // What production answers: expectations are checked against it.
        let report = redacted_report(&report, &case_secrets);
        let actual = output::report_json(&report);
        let problems = compare(&case.expect, &actual);
        if !problems.is_empty() {
            failed += 1;
        }
        if !json {
            if problems.is_empty() {
                crate::outln!(
                    "{}    {name}  {}",
                    output::paint("ok", output::Paint::Good),
                    case.description
                );
            } else {
                crate::outln!(
                    "{}  {name}  {}",
                    output::paint("FAIL", output::Paint::Bad),
                    case.description
                );
                for problem in &problems {
                    crate::outln!("      {problem}");
                }
            }
        }
        results.push(json!({ "case": name, "passed": problems.is_empty(), "problems": problems, "result": actual }));
    }
    if json {
        output::print_json(
            &json!({ "passed": files.len() - failed, "failed": failed, "cases": results }),
        );
    } else {
        crate::outln!("{} passed, {failed} failed", files.len() - failed);
    }
    Ok(if failed == 0 {
        Status::Ok
    } else {
        Status::NoDecision
    })
}

fn load_case(file: &Path) -> anyhow::Result<Case> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let case: Case = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid test case", file.display()))?;
    for key in case.expect.keys() {
        if key != "logs" && !EXACT_KEYS.contains(&key.as_str()) {
            bail!(
                "{}: unknown expectation {key:?}; expected one of logs, {}",
                file.display(),
                EXACT_KEYS.join(", ")
            );
        }
    }
    Ok(case)
}

fn compare(expect: &Map<String, Value>, actual: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, wanted) in expect {
        if key == "logs" {
            let lines: Vec<&str> = actual["logs"]
                .as_array()
                .map(|logs| logs.iter().filter_map(|l| l["message"].as_str()).collect())
                .unwrap_or_default();
            for needle in wanted
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !lines.iter().any(|line| line.contains(needle)) {
                    problems.push(format!(
                        "no log line contains {needle:?}; logs were {lines:?}"
                    ));
                }
            }
        } else if actual[key] != *wanted {
            problems.push(format!("{key}: expected {wanted}, got {}", actual[key]));
        }
    }
    problems
}

/// A JSON file (an event, a config) read and parsed, its path named in any
/// error.
pub(crate) fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}
