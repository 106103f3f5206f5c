//! Replay through the real sandbox: every run records what it read from
//! outside itself (clocks, its random seed, fetch answers), and a run given
//! that record reads the same again, with no network, or says where it
//! first read something the record does not hold.

use super::{SANDBOX, load, request, sandbox_with_fetcher};
use actions_runner::replay::RunInputs;
use actions_runner::{
    FetchError, FetchRequest, FetchResponse, HttpFetch, Outcome, RunLimits, RunReport, Sandbox,
    Trigger,
};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A transport double whose every answer is new: a live rerun of a run
/// that fetches cannot give the same result by chance.
#[derive(Default)]
struct CountingFetch {
    answered: AtomicU64,
}

impl HttpFetch for CountingFetch {
    fn fetch(
        &self,
        request: FetchRequest,
        _timeout: Duration,
        _max: u64,
    ) -> BoxFuture<'static, Result<FetchResponse, FetchError>> {
        let n = self.answered.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            Ok(FetchResponse {
                status: 200,
                headers: BTreeMap::new(),
                body: json!({ "answer": n, "url": request.url }).to_string(),
            })
        })
    }
}

fn fetching_sandbox() -> (Sandbox, Arc<CountingFetch>) {
    let fetcher = Arc::new(CountingFetch::default());
    (sandbox_with_fetcher(fetcher.clone(), 8), fetcher)
}

/// Reads everything an Action can read from outside itself.
const NONDETERMINISTIC: &str = r#"
export async function execute(event: any, api: any) {
  const started = Date.now();
  const random = [Math.random(), Math.random()];
  const response = await api.fetch(event.config.url);
  const data: any = await response.json();
  const when = new Date().toISOString();
  console.log(`fetched answer ${data.answer} at ${when}`);
  api.accessToken.setCustomClaim('https://x/read', { started, random, answer: data.answer, when });
}
"#;

fn claim(report: &RunReport) -> Value {
    report
        .effects
        .access_token_claims
        .get("https://x/read")
        .cloned()
        .unwrap_or(Value::Null)
}

fn messages(report: &RunReport) -> Vec<String> {
    report.logs.iter().map(|l| l.message.clone()).collect()
}

async fn live(sandbox: &Sandbox, source: &str, url: &str) -> RunReport {
    let action = load(sandbox, source);
    let report = sandbox
        .run(request(
            action,
            Trigger::LoginPostLogin,
            RunLimits::default(),
            json!({ "url": url }),
        ))
        .await;
    assert_eq!(report.outcome, Outcome::Allowed, "{:?}", report.logs);
    report
}

async fn replayed(sandbox: &Sandbox, source: &str, url: &str, record: RunInputs) -> RunReport {
    let mut run = request(
        load(sandbox, source),
        Trigger::LoginPostLogin,
        RunLimits::default(),
        json!({ "url": url }),
    );
    run.replay = Some(Arc::new(record));
    sandbox.run(run).await
}

#[tokio::test]
async fn math_random_is_new_in_every_run() {
    let source = r#"export function execute(event: any, api: any) {
      api.accessToken.setCustomClaim('https://x/r', [Math.random(), Math.random()]);
    }"#;
    let action = load(&SANDBOX, source);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let report = SANDBOX
            .run(request(
                action.clone(),
                Trigger::LoginPostLogin,
                RunLimits::default(),
                json!({}),
            ))
            .await;
        let pair = report.effects.access_token_claims["https://x/r"].clone();
        for n in pair.as_array().expect("two numbers") {
            let n = n.as_f64().expect("a number");
            assert!((0.0..1.0).contains(&n), "{n}");
        }
        assert_ne!(pair[0], pair[1]);
        seen.push(pair);
    }
    seen.dedup();
    assert_eq!(seen.len(), 3, "each run its own sequence: {seen:?}");
}

#[tokio::test]
async fn a_recorded_run_replays_exactly_without_the_network() {
    let (sandbox, fetcher) = fetching_sandbox();
    let first = live(&sandbox, NONDETERMINISTIC, "https://api.example.com/a").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = live(&sandbox, NONDETERMINISTIC, "https://api.example.com/a").await;
    assert_ne!(claim(&first), claim(&second), "live runs differ");
    let record = first.inputs.clone().expect("a short run keeps its inputs");
    assert_eq!(record.fetches.len(), 1);
    assert!(record.clock.len() >= 2, "{:?}", record.clock);

    // No fetcher at all: every answer must come from the record.
    let replay = replayed(
        &SANDBOX,
        NONDETERMINISTIC,
        "https://api.example.com/a",
        record,
    )
    .await;
    assert_eq!(replay.outcome, Outcome::Allowed, "{:?}", replay.logs);
    assert_eq!(replay.replay_divergence, None);
    assert_eq!(claim(&replay), claim(&first));
    assert_eq!(messages(&replay), messages(&first));
    assert_eq!(
        replay.inputs, first.inputs,
        "a replay records what it replayed"
    );
    assert_eq!(
        fetcher.answered.load(Ordering::SeqCst),
        2,
        "only the live runs fetched"
    );
}

#[tokio::test]
async fn a_changed_action_shows_the_first_read_the_record_does_not_hold() {
    let (sandbox, _) = fetching_sandbox();
    let first = live(&sandbox, NONDETERMINISTIC, "https://api.example.com/a").await;
    let record = first.inputs.clone().expect("kept");
    let replay = replayed(
        &SANDBOX,
        NONDETERMINISTIC,
        "https://api.example.com/b",
        record,
    )
    .await;
    let divergence = replay.replay_divergence.clone().unwrap_or_default();
    assert!(
        divergence.starts_with("fetch #1: the run asked for GET https://api.example.com/b"),
        "{divergence}"
    );
    // The Action was thrown an error for the fetch the record cannot answer.
    assert!(
        matches!(replay.outcome, Outcome::GuestError { .. }),
        "{:?}",
        replay.outcome
    );
}

#[tokio::test]
async fn a_run_reading_more_than_a_record_keeps_keeps_none() {
    let reader = |reads: u32| {
        format!(
            "export function execute(event: any, api: any) {{ let t = 0; for (let i = 0; i < {reads}; i++) t += Date.now() % 2; }}"
        )
    };
    let within = super::run(&reader(1_000)).await;
    assert_eq!(within.outcome, Outcome::Allowed, "{:?}", within.logs);
    assert_eq!(within.inputs.map(|i| i.clock.len()), Some(1_000));
    let over = super::run(&reader(40_000)).await;
    assert_eq!(over.outcome, Outcome::Allowed, "{:?}", over.logs);
    assert_eq!(
        over.inputs, None,
        "40,000 readings are over the record's 512 KiB"
    );
}
