//! Rendering of results, for people and for scripts.

use actions_runner::{LogLevel, Outcome, RunReport};
use serde_json::{Value, json};
use std::io::IsTerminal as _;

pub(crate) fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// The JSON shape of a run, shared by `--json` and the test cases.
pub(crate) fn report_json(report: &RunReport) -> Value {
    let (decision, reason) = decision_of(&report.outcome);
    let mut value = json!({
        "decision": decision,
        "reason": reason,
        "outcome": report.outcome.name(),
        "access_token_claims": report.effects.access_token_claims,
        "id_token_claims": report.effects.id_token_claims,
        "scopes_added": report.effects.scopes_added,
        "scopes_removed": report.effects.scopes_removed,
        "app_metadata": report.effects.app_metadata,
        "user_metadata": report.effects.user_metadata,
        "logs": report.logs,
        "fuel": report.fuel_consumed,
        "duration_us": u64::try_from(report.duration.as_micros()).unwrap_or(u64::MAX),
    });
    if let Outcome::GuestError {
        name,
        message,
        stack,
    } = &report.outcome
    {
        value["error"] = json!({ "name": name, "message": message, "stack": stack });
    }
    if let Outcome::HostError { message } = &report.outcome {
        value["error"] = json!({ "name": "HostError", "message": message });
    }
    value
}

/// What the auth backend would do: a decision, or deny when the run did not
/// reach one (bindings fail closed unless configured otherwise).
pub(crate) fn decision_of(outcome: &Outcome) -> (&'static str, String) {
    match outcome {
        Outcome::Allowed => ("allow", String::new()),
        Outcome::Denied { reason } => ("deny", reason.clone()),
        other => (
            "deny",
            format!("the Action did not reach a decision: {}", other.name()),
        ),
    }
}

pub(crate) fn print_report(report: &RunReport) {
    let (decision, reason) = decision_of(&report.outcome);
    println!("decision  {}", paint_decision(decision));
    if !reason.is_empty() {
        println!("reason    {reason}");
    }
    println!("outcome   {}", report.outcome.name());
    if let Outcome::GuestError {
        name,
        message,
        stack,
    } = &report.outcome
    {
        println!("error     {name}: {message}");
        for line in stack.lines() {
            println!("          {line}");
        }
    }
    let effects = &report.effects;
    for (label, map) in [
        ("access token claims", &effects.access_token_claims),
        ("id token claims", &effects.id_token_claims),
        ("app_metadata", &effects.app_metadata),
        ("user_metadata", &effects.user_metadata),
    ] {
        if !map.is_empty() {
            println!("{label}:");
            for (key, value) in map {
                println!("  {key} = {value}");
            }
        }
    }
    if !effects.scopes_added.is_empty() {
        println!("scopes added    {}", effects.scopes_added.join(" "));
    }
    if !effects.scopes_removed.is_empty() {
        println!("scopes removed  {}", effects.scopes_removed.join(" "));
    }
    if !report.logs.is_empty() {
        println!("logs:");
        for line in &report.logs {
            let level = format!("{:?}", line.level).to_lowercase();
            let level = match line.level {
                LogLevel::Error => paint(&level, Paint::Bad),
                LogLevel::Warn => paint(&level, Paint::Warn),
                _ => paint(&level, Paint::Dim),
            };
            println!("  [{level}] {}", line.message);
        }
    }
    println!(
        "fuel      {}\ntime      {:.3} ms",
        report.fuel_consumed,
        report.duration.as_secs_f64() * 1000.0
    );
}

/// Colours for what matters at a glance.
#[derive(Clone, Copy)]
pub(crate) enum Paint {
    /// Allowed, passed.
    Good,
    /// Denied, failed, errors.
    Bad,
    /// Warnings.
    Warn,
    /// What matters least.
    Dim,
}

/// `text` in colour when standard output is a terminal and `NO_COLOR` is unset.
pub(crate) fn paint(text: &str, paint: Paint) -> String {
    let wanted = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if !wanted {
        return text.to_owned();
    }
    let code = match paint {
        Paint::Good => "1;32",
        Paint::Bad => "1;31",
        Paint::Warn => "33",
        Paint::Dim => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A decision, coloured.
pub(crate) fn paint_decision(decision: &str) -> String {
    paint(
        decision,
        if decision == "allow" {
            Paint::Good
        } else {
            Paint::Bad
        },
    )
}
