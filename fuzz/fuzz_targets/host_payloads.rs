//! The decoding of host-call payloads: the completion report, `api.fetch`
//! requests (and their timeouts), claim and metadata values. Every byte of
//! them is the Action's choice; none may panic the runner.
#![no_main]

use actions_runner::payload;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|bytes: &[u8]| {
    let _ = payload::completion(bytes);
    if let Ok(request) = payload::fetch_request(bytes) {
        assert_eq!(request.method, request.method.to_ascii_uppercase());
        let remaining = Duration::from_millis(500);
        let timeout = payload::fetch_timeout(2_000, remaining, request.timeout_ms);
        assert!(timeout <= remaining);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(value) = payload::effect_value("api.accessToken.setCustomClaim", text) {
            // What the host stores must serialise back for the token.
            assert!(serde_json::to_string(&value).is_ok());
        }
    }
    // Timeouts from any eight bytes, as the Action's number.
    if let Some(raw) = bytes.get(..8) {
        let asked = f64::from_le_bytes(raw.try_into().unwrap_or_default());
        let remaining = Duration::from_millis(500);
        assert!(payload::fetch_timeout(2_000, remaining, Some(asked)) <= remaining);
    }
});
