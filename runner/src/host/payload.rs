//! Decoding what the plugin sends in host calls: the completion report,
//! `api.fetch` requests, and claim and metadata values. Every byte here was
//! chosen by the Action, so nothing may panic and every refusal is a message
//! for the Action's log. Public so that the fuzz targets (`fuzz/`) reach it.

use crate::fetch::FetchRequest;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// How the Action said it finished (`run_complete`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// `execute` settled.
    Ok,
    /// It threw or rejected, with what the prelude could describe.
    Threw {
        /// The error's name.
        name: String,
        /// Its message.
        message: String,
        /// Its stack, possibly empty.
        stack: String,
    },
}

#[derive(Deserialize)]
struct Report {
    ok: bool,
    #[serde(default)]
    error: Option<ThrownError>,
}

#[derive(Deserialize)]
struct ThrownError {
    name: String,
    message: String,
    #[serde(default)]
    stack: String,
}

/// The completion report, or `None` when it breaks the ABI.
pub fn completion(bytes: &[u8]) -> Option<Completion> {
    let report: Report = serde_json::from_slice(bytes).ok()?;
    match (report.ok, report.error) {
        (true, _) => Some(Completion::Ok),
        (false, Some(e)) => Some(Completion::Threw {
            name: e.name,
            message: e.message,
            stack: e.stack,
        }),
        (false, None) => None,
    }
}

/// An `api.fetch` request, its method upper-cased.
pub fn fetch_request(bytes: &[u8]) -> Result<FetchRequest, String> {
    let mut request: FetchRequest =
        serde_json::from_slice(bytes).map_err(|e| format!("api.fetch: malformed request: {e}"))?;
    request.method = request.method.to_ascii_uppercase();
    Ok(request)
}

/// The timeout of one fetch: the run's limit, what is left of its deadline,
/// and the Action's own `timeout` when it is shorter. Any number the Action
/// gives (huge, tiny, negative, NaN) lands in that range.
pub fn fetch_timeout(limit_ms: u64, remaining: Duration, asked_ms: Option<f64>) -> Duration {
    let timeout = Duration::from_millis(limit_ms).min(remaining);
    match asked_ms
        .filter(|t| t.is_finite() && *t > 0.0)
        .and_then(|t| Duration::try_from_secs_f64(t / 1000.0).ok())
    {
        Some(asked) => timeout.min(asked),
        None => timeout,
    }
}

/// A claim or metadata value: JSON text from the prelude's serialiser.
pub fn effect_value(method: &str, json: &str) -> Result<Value, String> {
    serde_json::from_str(json).map_err(|e| format!("{method}: the value is not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_timeout_the_action_asks_for_stays_within_the_limit() {
        let remaining = Duration::from_millis(800);
        for asked in [
            None,
            Some(f64::MAX),
            Some(1e300),
            Some(f64::INFINITY),
            Some(f64::NAN),
            Some(-5.0),
            Some(0.0),
        ] {
            assert_eq!(
                fetch_timeout(2_000, remaining, asked),
                remaining,
                "{asked:?}"
            );
        }
        assert_eq!(
            fetch_timeout(2_000, remaining, Some(250.0)),
            Duration::from_millis(250)
        );
        assert_eq!(
            fetch_timeout(100, remaining, Some(250.0)),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn completions_that_break_the_abi_are_refused() {
        assert_eq!(completion(br#"{"ok":true}"#), Some(Completion::Ok));
        assert_eq!(completion(br#"{"ok":false}"#), None);
        assert_eq!(completion(b"\xff"), None);
        assert!(matches!(
            completion(br#"{"ok":false,"error":{"name":"E","message":"m"}}"#),
            Some(Completion::Threw { .. })
        ));
    }
}
