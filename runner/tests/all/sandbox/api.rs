//! What an Action decides and does through `api`: the decision (the first
//! deny stands), claims, scopes and metadata, reserved claims dropped, and
//! which methods each trigger allows.

use super::{CUSTOM_CLAIM, SANDBOX, assert_guest_error, run, run_with};
use actions_runner::{LogLevel, LogOrigin, Outcome, RunLimits, Trigger};
use serde_json::json;

#[tokio::test]
async fn custom_claim_and_decision() {
    let report = run(CUSTOM_CLAIM).await;
    assert_eq!(report.outcome, Outcome::Allowed);
    assert_eq!(
        report.effects.access_token_claims["https://example.com/tier"],
        json!("gold")
    );
    assert!(report.fuel_consumed > 0);

    let report = run(r#"export function execute(e: any, api: any) { api.access.deny('no'); api.access.allow(); api.access.deny('later'); }"#).await;
    assert_eq!(
        report.outcome,
        Outcome::Denied {
            reason: "no".into()
        },
        "the first deny stands"
    );
}

#[tokio::test]
async fn reserved_claims_are_dropped_with_a_warning_and_the_run_goes_on() {
    for claim in actions_runner::RESERVED_CLAIMS {
        let source = format!(
            "export function execute(e: any, api: any) {{ api.idToken.setCustomClaim('{claim}', 'x'); api.idToken.setCustomClaim('https://x/kept', 1); }}"
        );
        let report = run(&source).await;
        assert_eq!(
            report.outcome,
            Outcome::Allowed,
            "{claim}: {:?}",
            report.logs
        );
        assert_eq!(
            report.effects.id_token_claims.keys().collect::<Vec<_>>(),
            ["https://x/kept"],
            "{claim}: dropped, and the rest kept"
        );
        let warnings: Vec<_> = report
            .logs
            .iter()
            .filter(|l| l.level == LogLevel::Warn && l.origin == LogOrigin::Runtime)
            .collect();
        assert_eq!(warnings.len(), 1, "{claim}: {:?}", report.logs);
        assert!(
            warnings[0].message.contains(&format!("{claim:?}")),
            "{claim}: {:?}",
            warnings[0]
        );
    }
}

#[tokio::test]
async fn scopes_and_metadata_accumulate() {
    let source = r#"export function execute(e: any, api: any) {
      api.accessToken.addScope('read:a'); api.accessToken.addScope('read:b'); api.accessToken.addScope('read:a');
      api.accessToken.removeScope('read:b'); api.accessToken.removeScope('admin');
      api.user.setAppMetadata('plan', { name: 'pro', seats: 3 });
      api.user.setUserMetadata('theme', 'dark');
    }"#;
    let report = run(source).await;
    assert_eq!(report.outcome, Outcome::Allowed);
    assert_eq!(report.effects.scopes_added, ["read:a"]);
    assert_eq!(report.effects.scopes_removed, ["read:b", "admin"]);
    assert_eq!(
        report.effects.app_metadata["plan"],
        json!({ "name": "pro", "seats": 3 })
    );
    assert_eq!(report.effects.user_metadata["theme"], json!("dark"));
}

#[tokio::test]
async fn each_trigger_allows_only_its_methods() {
    let calls = [
        ("access.deny", "api.access.deny('x')"),
        (
            "accessToken.setCustomClaim",
            "api.accessToken.setCustomClaim('https://x/c', 1)",
        ),
        (
            "idToken.setCustomClaim",
            "api.idToken.setCustomClaim('https://x/c', 1)",
        ),
        ("accessToken.addScope", "api.accessToken.addScope('s')"),
        ("user.setAppMetadata", "api.user.setAppMetadata('k', 1)"),
    ];
    let expected = [
        (
            Trigger::LoginPreCredentialCheck,
            [true, false, false, false, false],
        ),
        (Trigger::LoginPostLogin, [true, true, true, true, true]),
        (
            Trigger::RegistrationPreCreate,
            [true, false, false, false, true],
        ),
        (
            Trigger::RegistrationPostCreate,
            [false, false, false, false, true],
        ),
    ];
    for (trigger, allowed) in expected {
        for ((name, call), allowed) in calls.iter().zip(allowed) {
            let source = format!("export function execute(e: any, api: any) {{ {call}; }}");
            let report = run_with(&SANDBOX, &source, trigger, RunLimits::default()).await;
            if allowed {
                assert!(
                    report.outcome.is_decision(),
                    "{trigger} {name}: {:?}",
                    report.outcome
                );
            } else {
                assert_guest_error(
                    &report,
                    &format!("api.{name} is not available in trigger {trigger}"),
                );
                assert!(report.logs.iter().any(|l| l.level == LogLevel::Error
                    && l.origin == LogOrigin::Runtime
                    && l.message.contains("is not available")));
            }
        }
    }
}
