//! Isolation within and between runs: `api` and the event cannot be
//! tampered with, and nothing an Action pollutes survives into the next run.

use super::{run, run_with};
use actions_runner::{Outcome, RunLimits, Sandbox, SandboxConfig, Trigger};
use actions_test_support::cache_dir;
use serde_json::json;

#[tokio::test]
async fn api_and_event_cannot_be_tampered_with() {
    let source = r#"export function execute(event: any, api: any) {
      const results: string[] = [];
      try { api.access.deny = () => null; } catch (e) { results.push('deny frozen'); }
      try { api.accessToken = {}; } catch (e) { results.push('api frozen'); }
      try { event.user.app_metadata.tier = 'admin'; } catch (e) { results.push('event frozen'); }
      (Object.prototype as any).toJSON = () => 'polluted';
      (Array.prototype as any).toJSON = () => 'polluted';
      JSON.stringify = () => '"replaced"';
      api.accessToken.setCustomClaim('https://x/value', { list: [1, 2], tier: event.user.app_metadata.tier });
      console.log(results.join(', '));
      return api.access.deny('tampering did not help');
    }"#;
    let report = run(source).await;
    assert_eq!(
        report.outcome,
        Outcome::Denied {
            reason: "tampering did not help".into()
        }
    );
    assert_eq!(
        report.effects.access_token_claims["https://x/value"],
        json!({ "list": [1, 2], "tier": "gold" })
    );
    assert_eq!(
        report.logs[0].message,
        "deny frozen, api frozen, event frozen"
    );
}

#[tokio::test]
async fn nothing_survives_into_the_next_run() {
    let polluter = r#"export function execute(e: any, api: any) {
      (globalThis as any).leaked = 'secret';
      (Object.prototype as any).polluted = true;
      (Math as any).random = () => 4;
    }"#;
    let observer = r#"export function execute(e: any, api: any) {
      api.accessToken.setCustomClaim('https://x/seen', [typeof (globalThis as any).leaked, ({} as any).polluted === true, Math.random() === 4]);
    }"#;
    // In a sandbox of its own with one pool slot, every run reuses the memory
    // the previous one dirtied: what is reset must be all that was touched.
    let sandbox = Sandbox::new(SandboxConfig {
        max_concurrent_runs: 1,
        cache_dir: Some(cache_dir!()),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts");
    for _ in 0..5 {
        let polluted = run_with(
            &sandbox,
            polluter,
            Trigger::LoginPostLogin,
            RunLimits::default(),
        )
        .await;
        assert_eq!(polluted.outcome, Outcome::Allowed);
        let report = run_with(
            &sandbox,
            observer,
            Trigger::LoginPostLogin,
            RunLimits::default(),
        )
        .await;
        assert_eq!(
            report.effects.access_token_claims["https://x/seen"],
            json!(["undefined", false, false])
        );
    }
}
