//! The run limits, each in a pair, obeyed and violated, every violation
//! followed by a clean run: fuel (also in a promise chain), deadline, memory,
//! log size, effect size; and the operator's ceilings over what a run asks
//! for. The fetch limits (count, sizes, timeout) are in `fetch.rs`.

use super::{
    SANDBOX, assert_guest_error, assert_next_run_is_clean, limits, load, request, run, run_with,
};
use actions_runner::{LogOrigin, Outcome, Sandbox, SandboxConfig, Trigger};
use actions_test_support::cache_dir;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn fuel_limit_obeyed() {
    let source =
        "export function execute() { let x = 0; for (let i = 0; i < 100000; i++) x += i; }";
    let report = run_with(
        &SANDBOX,
        source,
        Trigger::LoginPostLogin,
        limits(|l| l.fuel = 200_000_000),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Allowed);
    assert!(report.fuel_consumed < 200_000_000);
}

#[tokio::test]
async fn fuel_limit_violated() {
    let report = run_with(
        &SANDBOX,
        "export function execute() { while (true) {} }",
        Trigger::LoginPostLogin,
        limits(|l| l.fuel = 50_000_000),
    )
    .await;
    assert_eq!(report.outcome, Outcome::OutOfFuel);
    assert_eq!(report.fuel_consumed, 50_000_000);
    assert_next_run_is_clean(&SANDBOX).await;
}

#[tokio::test]
async fn fuel_runs_out_in_a_promise_chain() {
    let source = "export async function execute() { const spin = (): Promise<void> => Promise.resolve().then(spin); await spin(); }";
    let report = run_with(
        &SANDBOX,
        source,
        Trigger::LoginPostLogin,
        limits(|l| l.fuel = 50_000_000),
    )
    .await;
    assert_eq!(report.outcome, Outcome::OutOfFuel);
}

#[tokio::test]
async fn deadline_obeyed() {
    let source =
        "export function execute() { let x = 0; for (let i = 0; i < 1000000; i++) x += i; }";
    let report = run_with(
        &SANDBOX,
        source,
        Trigger::LoginPostLogin,
        limits(|l| {
            l.fuel = u64::MAX;
            l.deadline_ms = 5_000;
        }),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Allowed);
}

#[tokio::test]
async fn deadline_violated() {
    let report = run_with(
        &SANDBOX,
        "export function execute() { while (true) {} }",
        Trigger::LoginPostLogin,
        limits(|l| {
            l.fuel = u64::MAX;
            l.deadline_ms = 100;
        }),
    )
    .await;
    assert_eq!(report.outcome, Outcome::DeadlineExceeded);
    assert!(report.duration >= Duration::from_millis(100));
    assert_next_run_is_clean(&SANDBOX).await;
}

#[tokio::test]
async fn memory_limit_obeyed() {
    let source = "export function execute(e: any, api: any) { const a = new Uint8Array(8 << 20); a[5] = 1; api.accessToken.setCustomClaim('https://x/len', a.length); }";
    let report = run(source).await;
    assert_eq!(report.outcome, Outcome::Allowed);
    assert_eq!(
        report.effects.access_token_claims["https://x/len"],
        json!(8 << 20)
    );
}

#[tokio::test]
async fn memory_limit_violated_by_arrays_strings_and_typed_arrays() {
    let bombs = [
        "export function execute() { const a: number[][] = []; while (true) a.push(new Array(100000).fill(1)); }",
        "export function execute() { const a: Uint8Array[] = []; while (true) a.push(new Uint8Array(1 << 20)); }",
        "export function execute() { const a: string[] = []; let s = 'xy'; while (true) { s = s + s.slice(1) + 'z'; a.push(s.slice(0)); a.push(s.split('').join('')); } }",
        // Caught inside the Action: still a memory-limit outcome.
        "export function execute() { const a: Uint8Array[] = []; try { while (true) a.push(new Uint8Array(1 << 20)); } catch {} }",
    ];
    for bomb in bombs {
        let report = run_with(
            &SANDBOX,
            bomb,
            Trigger::LoginPostLogin,
            limits(|l| l.memory_bytes = 32 << 20),
        )
        .await;
        assert_eq!(report.outcome, Outcome::MemoryLimitExceeded, "{bomb}");
        assert_next_run_is_clean(&SANDBOX).await;
    }
}

#[tokio::test]
async fn log_limit_obeyed() {
    let source = "export function execute() { for (let i = 0; i < 10; i++) console.log('line', i, 'x'.repeat(1000)); }";
    let report = run_with(
        &SANDBOX,
        source,
        Trigger::LoginPostLogin,
        limits(|l| l.log_bytes = 64 * 1024),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Allowed);
    assert_eq!(report.logs.len(), 10);
    assert!(report.logs[3].message.starts_with("line 3 xxx"));
}

#[tokio::test]
async fn log_limit_violated_by_a_ten_megabyte_flood() {
    let source = "export function execute() { const line = 'x'.repeat(1024); for (let i = 0; i < 10 * 1024; i++) console.log(line); }";
    let report = run_with(
        &SANDBOX,
        source,
        Trigger::LoginPostLogin,
        limits(|l| l.log_bytes = 64 * 1024),
    )
    .await;
    assert_eq!(report.outcome, Outcome::LogLimitExceeded);
    let kept: usize = report
        .logs
        .iter()
        .filter(|l| l.origin == LogOrigin::Action)
        .map(|l| l.message.len())
        .sum();
    assert_eq!(kept, 64 * 1024, "exactly the limit is kept");
    assert_eq!(
        report.logs.last().map(|l| l.origin),
        Some(LogOrigin::Runtime)
    );

    // One line larger than the whole limit.
    let report = run_with(
        &SANDBOX,
        "export function execute() { console.log('y'.repeat(10 * 1024 * 1024)); }",
        Trigger::LoginPostLogin,
        limits(|l| l.log_bytes = 64 * 1024),
    )
    .await;
    assert_eq!(report.outcome, Outcome::LogLimitExceeded);
    assert_next_run_is_clean(&SANDBOX).await;
}

#[tokio::test]
async fn effect_limit_obeyed_and_violated() {
    let source = "export function execute(e: any, api: any) { api.accessToken.setCustomClaim('https://x/big', 'z'.repeat(e.config.size)); }";
    let action = load(&SANDBOX, source);
    let ok = request(
        action.clone(),
        Trigger::LoginPostLogin,
        limits(|l| l.effect_bytes = 4096),
        json!({ "size": 1000 }),
    );
    assert_eq!(SANDBOX.run(ok).await.outcome, Outcome::Allowed);
    let big = request(
        action,
        Trigger::LoginPostLogin,
        limits(|l| l.effect_bytes = 4096),
        json!({ "size": 5000 }),
    );
    let report = SANDBOX.run(big).await;
    assert_guest_error(&report, "over the limit of 4096 bytes");
    assert!(report.effects.access_token_claims.is_empty());
}

#[tokio::test]
async fn operator_ceilings_cap_what_a_run_asks_for() {
    let sandbox = Sandbox::new(SandboxConfig {
        max_concurrent_runs: 4,
        cache_dir: Some(cache_dir!()),
        ceilings: limits(|l| l.fuel = 10_000_000),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts");
    let report = run_with(
        &sandbox,
        "export function execute() { while (true) {} }",
        Trigger::LoginPostLogin,
        limits(|l| l.fuel = u64::MAX),
    )
    .await;
    assert_eq!(report.outcome, Outcome::OutOfFuel);
    assert_eq!(report.fuel_consumed, 10_000_000);
}
