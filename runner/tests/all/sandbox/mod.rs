//! The sandbox through its real parts: Actions compiled from TypeScript by
//! the real compiler, run in wasmtime with the real plugin, one file per
//! topic; what they share is here.
//!
//! Every limit is tested in a pair, obeyed and violated, and every violation
//! is followed by a clean run in the same sandbox.

mod api;
mod fetch;
mod guest_errors;
mod isolation;
mod limits;
mod modules;
mod replay;

use crate::common::{COMPILER, sandbox_event};
use actions_compiler::SourcePackage;
use actions_runner::{
    ActionModule, Outcome, RunLimits, RunReport, RunRequest, Sandbox, SandboxConfig, Trigger,
};
use actions_test_support::cache_dir;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| {
    Sandbox::new(SandboxConfig {
        max_concurrent_runs: 64,
        cache_dir: Some(cache_dir!()),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts")
});

/// A sandbox of its own whose `api.fetch` goes to `fetcher`.
fn sandbox_with_fetcher(
    fetcher: std::sync::Arc<dyn actions_runner::HttpFetch>,
    max_concurrent_runs: u32,
) -> Sandbox {
    Sandbox::new(SandboxConfig {
        max_concurrent_runs,
        cache_dir: Some(cache_dir!()),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts")
    .with_fetcher(fetcher)
}

fn compile(source: &str) -> Vec<u8> {
    let package = SourcePackage::single("index.ts", source).expect("valid package");
    COMPILER.compile(&package).expect("compiles").wasm
}

fn load(sandbox: &Sandbox, source: &str) -> ActionModule {
    sandbox.load(&compile(source)).expect("loads")
}

fn request(action: ActionModule, trigger: Trigger, limits: RunLimits, config: Value) -> RunRequest {
    RunRequest {
        action,
        trigger,
        event: sandbox_event(),
        config,
        secrets: Map::new(),
        limits,
        replay: None,
    }
}

async fn run_with(
    sandbox: &Sandbox,
    source: &str,
    trigger: Trigger,
    limits: RunLimits,
) -> RunReport {
    let action = load(sandbox, source);
    sandbox
        .run(request(action, trigger, limits, json!({})))
        .await
}

async fn run(source: &str) -> RunReport {
    run_with(
        &SANDBOX,
        source,
        Trigger::LoginPostLogin,
        RunLimits::default(),
    )
    .await
}

const CUSTOM_CLAIM: &str = r#"
export async function execute(event: any, api: any) {
  const tier = event.user.app_metadata?.tier ?? 'free';
  api.accessToken.setCustomClaim('https://example.com/tier', tier);
  return api.access.allow();
}
"#;

fn assert_guest_error(report: &RunReport, needle: &str) {
    assert!(
        matches!(report.outcome, Outcome::GuestError { ref message, .. } if message.contains(needle)),
        "expected a guest error containing {needle:?}, got {:?}",
        report.outcome
    );
}

/// After any violation, the same sandbox runs a well-behaved Action cleanly.
async fn assert_next_run_is_clean(sandbox: &Sandbox) {
    let report = run_with(
        sandbox,
        CUSTOM_CLAIM,
        Trigger::LoginPostLogin,
        RunLimits::default(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Allowed);
    assert_eq!(
        report
            .effects
            .access_token_claims
            .get("https://example.com/tier"),
        Some(&json!("gold"))
    );
    assert!(report.logs.is_empty(), "{:?}", report.logs);
}

fn limits(change: impl FnOnce(&mut RunLimits)) -> RunLimits {
    let mut limits = RunLimits::default();
    change(&mut limits);
    limits
}
