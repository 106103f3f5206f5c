//! Rendering of results, for people and for scripts: every line of
//! standard output goes through [`outln!`](crate::outln), which ends the
//! command quietly when the reader has gone (`action flows --json | head`),
//! and what is only for a person watching (progress, state) goes to
//! standard error, and only when it is a terminal.

use actions_runner::{LogLevel, Outcome, RunReport};
use serde_json::{Value, json};
use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// `println!` for standard output, without the panic on a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Writes to standard output. When the reader has closed the pipe the
/// command ends at once, quietly and successfully: whoever reads has what
/// they wanted (as `head` means it), and the process does not die of
/// SIGPIPE, which Rust ignores, nor panic. Any other write error ends the
/// command with status 1.
pub(crate) fn write_out(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_fmt(args) {
        gone(&error);
    }
}

/// Writes bytes to standard output (generated completions, a man page), as [`write_out`].
pub(crate) fn write_out_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_all(bytes).and_then(|()| out.flush()) {
        gone(&error);
    }
}

fn gone(error: &std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(crate::Status::Ok as i32);
    }
    // Standard error may be gone too: nothing to do about that.
    let _ = writeln!(
        std::io::stderr(),
        "error: writing to standard output: {error}"
    );
    std::process::exit(crate::Status::BadInput as i32);
}

pub(crate) fn print_json(value: &Value) {
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// JSON for an error: written if anyone reads, and never ending the
/// command early, so that it keeps the error's status.
pub(crate) fn print_error_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// One JSON value on one line: what streams (`--follow`) print.
pub(crate) fn print_json_line(value: &Value) {
    crate::outln!("{value}");
}

/// Whether standard error is a terminal a person watches: only then is
/// progress or state shown.
pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A line of state on standard error, rewritten in place with the time
/// elapsed, while something long runs; nothing at all when standard error
/// is not a terminal. Dropping it clears the line.
pub(crate) struct Progress {
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts showing `what` (e.g. "uploading 2.1 MiB; compiling"). Call
    /// inside the async runtime.
    pub(crate) fn start(what: String) -> Self {
        if !stderr_is_terminal() {
            return Self { ticker: None };
        }
        let started = Instant::now();
        let ticker = tokio::spawn(async move {
            let frames = ['|', '/', '-', '\\'];
            let mut tick = 0usize;
            loop {
                let elapsed = started.elapsed().as_secs_f64();
                let frame = frames[tick % frames.len()];
                let _ = write!(std::io::stderr(), "\r\x1b[2K{frame} {what} {elapsed:.1} s");
                tick += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Self {
            ticker: Some(ticker),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// A byte count as a person reads it.
pub(crate) fn bytes_text(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let n = bytes as f64;
    if n < KIB {
        format!("{bytes} bytes")
    } else if n < KIB * KIB {
        format!("{:.1} KiB", n / KIB)
    } else {
        format!("{:.1} MiB", n / (KIB * KIB))
    }
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
    crate::outln!("decision  {}", paint_decision(decision));
    if !reason.is_empty() {
        crate::outln!("reason    {reason}");
    }
    crate::outln!("outcome   {}", report.outcome.name());
    if let Outcome::GuestError {
        name,
        message,
        stack,
    } = &report.outcome
    {
        crate::outln!("error     {name}: {message}");
        for line in stack.lines() {
            crate::outln!("          {line}");
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
            crate::outln!("{label}:");
            for (key, value) in map {
                crate::outln!("  {key} = {value}");
            }
        }
    }
    if !effects.scopes_added.is_empty() {
        crate::outln!("scopes added    {}", effects.scopes_added.join(" "));
    }
    if !effects.scopes_removed.is_empty() {
        crate::outln!("scopes removed  {}", effects.scopes_removed.join(" "));
    }
    if !report.logs.is_empty() {
        crate::outln!("logs:");
        for line in &report.logs {
            let level = format!("{:?}", line.level).to_lowercase();
            let level = match line.level {
                LogLevel::Error => paint(&level, Paint::Bad),
                LogLevel::Warn => paint(&level, Paint::Warn),
                _ => paint(&level, Paint::Dim),
            };
            crate::outln!("  [{level}] {}", line.message);
        }
    }
    crate::outln!(
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
