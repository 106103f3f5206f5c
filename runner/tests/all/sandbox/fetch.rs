//! `api.fetch` through a transport double: what reaches the transport, the
//! call count, request and response sizes and timeout obeyed and violated,
//! absurd timeouts capped, no transport refused, and a fetch suspending only
//! its own run.

use super::{assert_guest_error, limits, load, request, run, sandbox_with_fetcher};
use actions_runner::{
    FetchError, FetchRequest, FetchResponse, HttpFetch, Outcome, RunLimits, Sandbox, Trigger,
};
use futures::future::BoxFuture;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    (sandbox_with_fetcher(fetcher.clone(), 32), fetcher)
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
    // The Action's own fetch timeout must outlast the wait too: CI once had
    // runs time out at FETCHER's 5 s before all twenty reached the barrier.
    let patient = FETCHER.replace("timeout: 5000", "timeout: 20000");
    assert_ne!(patient, FETCHER);
    let action = load(&sandbox, &patient);
    let runs = (0..RUNS).map(|_| {
        // What is tested is suspension, not speed: on a loaded machine
        // twenty runs may take longer than the default 2 s fetch timeout
        // to all reach the barrier.
        let limits = RunLimits {
            deadline_ms: 20_000,
            fetch_timeout_ms: 20_000,
            ..RunLimits::default()
        };
        let req = request(
            action.clone(),
            Trigger::LoginPostLogin,
            limits,
            json!({ "calls": 1 }),
        );
        sandbox.run(req)
    });
    let reports = tokio::time::timeout(Duration::from_secs(20), futures::future::join_all(runs))
        .await
        .expect("all runs reach the barrier together");
    let outcomes: Vec<&Outcome> = reports.iter().map(|r| &r.outcome).collect();
    assert!(
        reports.iter().all(|r| r.outcome == Outcome::Allowed),
        "{outcomes:?}"
    );
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
