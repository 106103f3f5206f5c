//! The sandbox through its real parts: Actions compiled from TypeScript by
//! the real compiler, run in wasmtime with the real plugin.
//!
//! Every limit is tested in a pair, obeyed and violated, and every violation
//! is followed by a clean run in the same sandbox.

use crate::common::{COMPILER, sandbox_event};
use actions_compiler::SourcePackage;
use actions_runner::{
    ActionModule, FetchError, FetchRequest, FetchResponse, HttpFetch, InstanceStrategy, LogLevel,
    LogOrigin, Outcome, RunLimits, RunReport, RunRequest, RunnerError, Sandbox, SandboxConfig,
    Trigger,
};
use actions_test_support::cache_dir;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| {
    Sandbox::new(SandboxConfig {
        max_concurrent_runs: 64,
        cache_dir: Some(cache_dir!()),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts")
});

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
async fn reserved_claims_are_refused() {
    for claim in ["sub", "iss", "aud", "exp", "iat", "nbf", "azp"] {
        let source = format!(
            "export function execute(e: any, api: any) {{ try {{ api.idToken.setCustomClaim('{claim}', 'x'); }} catch (err) {{ console.log(String(err)); }} }}"
        );
        let report = run(&source).await;
        assert_eq!(report.outcome, Outcome::Allowed);
        assert!(report.effects.id_token_claims.is_empty());
        assert!(
            report
                .logs
                .iter()
                .any(|l| l.message.contains("is reserved")),
            "{claim}: {:?}",
            report.logs
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

#[tokio::test]
async fn guest_errors_carry_message_and_stack() {
    let report = run("function inner() { throw new TypeError('bad thing'); }\nexport function execute() { inner(); }").await;
    let Outcome::GuestError {
        name,
        message,
        stack,
    } = report.outcome
    else {
        panic!("expected a guest error, got {:?}", report.outcome);
    };
    assert_eq!(
        (name.as_str(), message.as_str()),
        ("TypeError", "bad thing")
    );
    assert!(stack.contains("inner"), "{stack}");

    let report = run("export async function execute() { throw 42; }").await;
    assert!(
        matches!(report.outcome, Outcome::GuestError { ref name, ref message, .. } if name == "NonErrorThrown" && message.contains("42"))
    );

    let report = run("throw new Error('at module load');\nexport function execute() {}").await;
    assert!(
        matches!(report.outcome, Outcome::GuestError { ref message, .. } if message == "at module load")
    );

    let report = run("export async function execute() { await new Promise(() => {}); }").await;
    assert!(matches!(report.outcome, Outcome::GuestError { ref name, .. } if name == "Unsettled"));

    let report =
        run("const f = (n: number): number => f(n + 1);\nexport function execute() { f(0); }")
            .await;
    assert!(
        matches!(report.outcome, Outcome::GuestError { .. }),
        "{:?}",
        report.outcome
    );
    assert_next_run_is_clean(&SANDBOX).await;
}

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

#[tokio::test]
async fn modules_are_cached_by_hash_and_checked() {
    let wasm = compile(CUSTOM_CLAIM);
    let first = SANDBOX.load(&wasm).expect("loads");
    let second = SANDBOX.load(&wasm).expect("loads");
    assert_eq!(first.sha256(), second.sha256());

    assert!(matches!(
        SANDBOX.load(b"\0asm\x01\0\0\0"),
        Err(RunnerError::InvalidModule(_))
    ));
    // The same module, made for another plugin build.
    let id = actions_plugin_host::plugin_id();
    let forged = replace(&wasm, id.as_bytes(), &"0".repeat(id.len()).into_bytes());
    assert!(matches!(
        SANDBOX.load(&forged),
        Err(RunnerError::PluginMismatch { .. })
    ));
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let at = haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present");
    let mut out = haystack.to_vec();
    out[at..at + needle.len()].copy_from_slice(with);
    out
}

/// A transport double: answers from a table, after a delay, and records
/// what it was asked. (The real HTTP transport is the runner service's.)
struct TableFetch {
    delay: Duration,
    body: String,
    seen: Mutex<Vec<FetchRequest>>,
    barrier: Option<Arc<tokio::sync::Barrier>>,
}

impl HttpFetch for TableFetch {
    fn fetch(
        &self,
        request: FetchRequest,
        _timeout: Duration,
        _max: u64,
    ) -> BoxFuture<'static, Result<FetchResponse, FetchError>> {
        self.seen.lock().expect("lock").push(request);
        let (delay, body, barrier) = (self.delay, self.body.clone(), self.barrier.clone());
        Box::pin(async move {
            if let Some(barrier) = barrier {
                barrier.wait().await;
            }
            tokio::time::sleep(delay).await;
            Ok(FetchResponse {
                status: 200,
                headers: BTreeMap::from([(
                    "content-type".to_owned(),
                    "application/json".to_owned(),
                )]),
                body,
            })
        })
    }
}

fn fetching_sandbox(
    delay: Duration,
    body: &str,
    barrier: Option<Arc<tokio::sync::Barrier>>,
) -> (Sandbox, Arc<TableFetch>) {
    let fetcher = Arc::new(TableFetch {
        delay,
        body: body.to_owned(),
        seen: Mutex::new(Vec::new()),
        barrier,
    });
    let sandbox = Sandbox::new(SandboxConfig {
        max_concurrent_runs: 32,
        cache_dir: Some(cache_dir!()),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts")
    .with_fetcher(fetcher.clone());
    (sandbox, fetcher)
}

const FETCHER: &str = r#"export async function execute(event: any, api: any) {
  for (let i = 0; i < event.config.calls; i++) {
    const response = await api.fetch('https://api.example.com/tier', { method: 'post', body: event.config.body ?? '', timeout: 5000 });
    const data: any = await response.json();
    api.accessToken.setCustomClaim('https://x/tier', data.tier);
    api.accessToken.setCustomClaim('https://x/status', response.status);
  }
}"#;

#[tokio::test]
async fn fetch_goes_through_the_transport() {
    let (sandbox, fetcher) = fetching_sandbox(Duration::ZERO, r#"{"tier":"platinum"}"#, None);
    let req = request(
        load(&sandbox, FETCHER),
        Trigger::LoginPostLogin,
        RunLimits::default(),
        json!({ "calls": 1, "body": "hello" }),
    );
    let report = sandbox.run(req).await;
    assert_eq!(report.outcome, Outcome::Allowed, "{:?}", report.logs);
    assert_eq!(
        report.effects.access_token_claims["https://x/tier"],
        json!("platinum")
    );
    let seen = fetcher.seen.lock().expect("lock");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].body.as_deref()),
        ("POST", Some("hello"))
    );
}

#[tokio::test]
async fn fetch_count_obeyed_and_violated() {
    let (sandbox, _) = fetching_sandbox(Duration::ZERO, r#"{"tier":"a"}"#, None);
    let action = load(&sandbox, FETCHER);
    let ok = request(
        action.clone(),
        Trigger::LoginPostLogin,
        limits(|l| l.fetch_calls = 3),
        json!({ "calls": 3 }),
    );
    assert_eq!(sandbox.run(ok).await.outcome, Outcome::Allowed);
    let over = request(
        action,
        Trigger::LoginPostLogin,
        limits(|l| l.fetch_calls = 3),
        json!({ "calls": 4 }),
    );
    let report = sandbox.run(over).await;
    assert_guest_error(&report, "already made its 3 allowed calls");
}

#[tokio::test]
async fn fetch_sizes_obeyed_and_violated() {
    let (sandbox, _) = fetching_sandbox(
        Duration::ZERO,
        &format!(r#"{{"tier":"{}"}}"#, "a".repeat(2000)),
        None,
    );
    let action = load(&sandbox, FETCHER);
    let run_sized = |request_bytes: u64, response_bytes: u64, body: usize| {
        let req = request(
            action.clone(),
            Trigger::LoginPostLogin,
            limits(|l| {
                l.fetch_request_bytes = request_bytes;
                l.fetch_response_bytes = response_bytes;
            }),
            json!({ "calls": 1, "body": "b".repeat(body) }),
        );
        sandbox.run(req)
    };
    assert_eq!(run_sized(1000, 4000, 1000).await.outcome, Outcome::Allowed);
    let report = run_sized(1000, 4000, 1001).await;
    assert_guest_error(&report, "request body is 1001 bytes");
    let report = run_sized(1000, 1000, 10).await;
    assert_guest_error(&report, "response is over the limit of 1000 bytes");
}

#[tokio::test]
async fn fetch_timeout_obeyed_and_violated() {
    let source = r#"export async function execute(event: any, api: any) {
      try { await api.fetch('https://slow.example.com/', { timeout: event.config.timeout }); }
      catch (e) { console.warn('fetch failed open:', String(e)); }
    }"#;
    let (sandbox, _) = fetching_sandbox(Duration::from_millis(300), "{}", None);
    let action = load(&sandbox, source);
    let patient = request(
        action.clone(),
        Trigger::LoginPostLogin,
        RunLimits::default(),
        json!({ "timeout": 2000 }),
    );
    let report = sandbox.run(patient).await;
    assert_eq!(report.outcome, Outcome::Allowed);
    assert!(report.logs.is_empty(), "{:?}", report.logs);
    let hasty = request(
        action,
        Trigger::LoginPostLogin,
        RunLimits::default(),
        json!({ "timeout": 50 }),
    );
    let report = sandbox.run(hasty).await;
    assert_eq!(
        report.outcome,
        Outcome::Allowed,
        "fails open as the Action chose"
    );
    assert!(
        report
            .logs
            .iter()
            .any(|l| l.message.contains("timed out after 50 ms")),
        "{:?}",
        report.logs
    );
}

#[tokio::test]
async fn fetch_without_a_transport_is_refused() {
    let report = run("export async function execute(e: any, api: any) { await api.fetch('https://example.com/'); }").await;
    assert_guest_error(&report, "api.fetch is not enabled on this runner");
}

/// Twenty runs each wait inside `api.fetch` until all twenty are waiting at
/// once. On one thread, that can only finish if a fetch suspends its own run
/// and no other.
#[tokio::test(flavor = "current_thread")]
async fn a_fetch_suspends_only_its_own_run() {
    const RUNS: usize = 20;
    let barrier = Arc::new(tokio::sync::Barrier::new(RUNS));
    let (sandbox, _) = fetching_sandbox(Duration::ZERO, r#"{"tier":"t"}"#, Some(barrier));
    let action = load(&sandbox, FETCHER);
    let runs = (0..RUNS).map(|_| {
        let req = request(
            action.clone(),
            Trigger::LoginPostLogin,
            RunLimits::default(),
            json!({ "calls": 1 }),
        );
        sandbox.run(req)
    });
    let reports = tokio::time::timeout(Duration::from_secs(20), futures::future::join_all(runs))
        .await
        .expect("all runs reach the barrier together");
    assert!(reports.iter().all(|r| r.outcome == Outcome::Allowed));
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

/// The benchmarks' baseline must do the same work: same decision, effects,
/// logs and limits as the pooled path, from its own uncached compile.
#[tokio::test]
async fn the_naive_baseline_behaves_like_the_pooled_path() {
    let naive = Sandbox::new(SandboxConfig {
        strategy: InstanceStrategy::Naive,
        cache_dir: Some(cache_dir!()),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts");
    let pooled = run(CUSTOM_CLAIM).await;
    let baseline = run_with(
        &naive,
        CUSTOM_CLAIM,
        Trigger::LoginPostLogin,
        RunLimits::default(),
    )
    .await;
    assert_eq!(baseline.outcome, pooled.outcome);
    assert_eq!(baseline.effects, pooled.effects);
    assert_eq!(baseline.logs.len(), pooled.logs.len());
    assert_eq!(baseline.fuel_consumed, pooled.fuel_consumed);

    let spinning = run_with(
        &naive,
        "export async function execute() { while (true) {} }",
        Trigger::LoginPostLogin,
        limits(|l| l.fuel = 5_000_000),
    )
    .await;
    assert_eq!(spinning.outcome, Outcome::OutOfFuel);
    assert_next_run_is_clean(&naive).await;
}

/// Found while writing the fuzz targets: `timeout: 1e300` made the host
/// panic converting it to a `Duration`, inside the runner's own thread.
#[tokio::test]
async fn absurd_fetch_timeouts_are_capped_not_fatal() {
    let source = r#"export async function execute(event: any, api: any) {
      for (const timeout of [1e300, Number.MAX_VALUE, Infinity]) {
        const response = await api.fetch('https://api.example.com/tier', { timeout });
        api.accessToken.setCustomClaim('https://x/status', response.status);
      }
    }"#;
    let (sandbox, fetcher) = fetching_sandbox(Duration::ZERO, "{}", None);
    let report = sandbox
        .run(request(
            load(&sandbox, source),
            Trigger::LoginPostLogin,
            RunLimits::default(),
            json!({}),
        ))
        .await;
    assert_eq!(report.outcome, Outcome::Allowed, "{:?}", report.logs);
    assert_eq!(fetcher.seen.lock().expect("lock").len(), 3);
}

/// Factories are synchronous unless a module awaits at its top level; both
/// kinds, mixed in one package, still evaluate in dependency order.
#[tokio::test]
async fn modules_with_and_without_top_level_await_run_in_order() {
    let files = BTreeMap::from([
        (
            "index.ts".to_owned(),
            b"import { tier } from './tier';\nimport { order, steps } from './order';\nexport async function execute(e: any, api: any) {\n  api.accessToken.setCustomClaim('https://x/tier', tier);\n  api.accessToken.setCustomClaim('https://x/order', order);\n  api.accessToken.setCustomClaim('https://x/steps', steps);\n}\n".to_vec(),
        ),
        (
            "tier.ts".to_owned(),
            b"import { order } from './order';\norder.push('tier');\nexport const tier = await Promise.resolve('gold');\n".to_vec(),
        ),
        (
            "order.ts".to_owned(),
            b"export const order: string[] = ['order'];\nconst later = async () => { await null; };\nvoid later;\nexport let steps = 0;\nfor await (const step of [Promise.resolve(1), 2]) steps += step;\n".to_vec(),
        ),
    ]);
    let package = SourcePackage::new(files, "index.ts").expect("package");
    let compiled = COMPILER.compile(&package).expect("compiles");
    assert!(
        compiled.javascript.contains("await (async () =>"),
        "{}",
        compiled.javascript
    );
    let report = SANDBOX
        .run(request(
            SANDBOX.load(&compiled.wasm).expect("loads"),
            Trigger::LoginPostLogin,
            RunLimits::default(),
            json!({}),
        ))
        .await;
    assert_eq!(report.outcome, Outcome::Allowed, "{:?}", report.outcome);
    let claims = &report.effects.access_token_claims;
    assert_eq!(claims["https://x/tier"], json!("gold"));
    assert_eq!(claims["https://x/order"], json!(["order", "tier"]));
    assert_eq!(claims["https://x/steps"], json!(3));

    let plain = COMPILER
        .compile(&SourcePackage::single("index.ts", CUSTOM_CLAIM).expect("package"))
        .expect("compiles");
    assert!(
        !plain.javascript.contains("async () =>"),
        "no top-level await, no async factory: {}",
        plain.javascript
    );
}
