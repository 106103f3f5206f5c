//! Capacity between tenants, over a real socket: a tenant flooding the
//! runner with never-ending Actions is answered "overloaded" (a typed
//! `RESOURCE_EXHAUSTED`, nothing run, no fail policy) past its share, while
//! another tenant's sign-in is answered as usual; test runs have slots of
//! their own and a share per tenant there too.

use crate::common::{Runner, binding, claims, event, execute, inline, starter};
use actions_proto::overload::{self, Lane, Scope};
use actions_proto::runner::v1::{
    Decision, ExecuteActionRequest, ExecuteRequest, ExecuteResponse,
    execution_client::ExecutionClient,
};
use actions_runner::settings::RunnerSettings;
use serde_json::json;
use std::time::Duration;
use tokio::task::JoinHandle;
use tonic::Status;
use tonic::transport::Channel;

/// Spins until its deadline (30 s) or fuel (several seconds of CPU) runs out:
/// longer than any test here.
const NEVER_ENDING: &str = "export function execute() { while (true) {} }";

/// The share each test sets: 2 calls in flight per tenant, 2 more waiting
/// at most 50 ms, out of 8.
fn shares(settings: &mut RunnerSettings) {
    settings.max_concurrent_runs = 8;
    settings.admission.per_tenant_max_concurrency = 2;
    settings.admission.per_tenant_queue = 2;
    settings.admission.max_wait_ms = 50;
    settings.admission.test_max_concurrency = 4;
    settings.admission.test_per_tenant_max_concurrency = 2;
}

async fn two_tenants() -> (Runner, String) {
    let mut spinner = String::new();
    let runner = Runner::start_with(
        |m| {
            spinner = inline(m, NEVER_ENDING);
            json!({ "tenants": {
                "flood": { "slots": { "login.post-login": [binding("f", "spinner", &spinner, json!({}), false,
                    json!({ "deadline_ms": 30_000, "fuel": 20_000_000_000u64 }))] } },
                "calm": { "slots": { "login.post-login": [binding("c", "custom-claim", &starter(m, "custom-claim"), json!({}), false, json!({}))] } }
            } })
        },
        &[],
        "",
        shares,
    )
    .await;
    (runner, spinner)
}

fn flood_call(
    client: &ExecutionClient<Channel>,
    tenant: &str,
) -> JoinHandle<Result<ExecuteResponse, Status>> {
    let mut client = client.clone();
    let request = ExecuteRequest {
        tenant: tenant.into(),
        trigger: "login.post-login".into(),
        event_json: event("mallory@example.com", None),
        ..ExecuteRequest::default()
    };
    tokio::spawn(async move { client.execute(request).await.map(|r| r.into_inner()) })
}

/// The answers of the calls that have ended once `count` have (within a
/// generous guard), and the calls still running.
async fn first_answers<T>(
    mut calls: Vec<JoinHandle<Result<T, Status>>>,
    count: usize,
) -> (Vec<Result<T, Status>>, Vec<JoinHandle<Result<T, Status>>>) {
    let started = std::time::Instant::now();
    while calls.iter().filter(|c| c.is_finished()).count() < count {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "only {} of {count} calls were answered",
            calls.iter().filter(|c| c.is_finished()).count()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut answers = Vec::new();
    let mut running = Vec::new();
    for call in calls.drain(..) {
        if call.is_finished() {
            answers.push(call.await.expect("join"));
        } else {
            running.push(call);
        }
    }
    (answers, running)
}

fn assert_overloaded<T: std::fmt::Debug>(answer: &Result<T, Status>, scope: Scope, lane: Lane) {
    match answer {
        Err(status) => assert_eq!(
            overload::of(status),
            Some((scope, lane)),
            "a typed overloaded answer, not {status:?}"
        ),
        Ok(response) => panic!("a flood call past the share ran: {response:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_tenant_is_told_overloaded_while_another_signs_in() {
    let (runner, _) = two_tenants().await;
    let client = runner.client().await;
    // More never-ending calls than the whole pool: 2 run, 2 wait and are
    // refused after the wait, the rest are refused at once.
    let flood: Vec<_> = (0..12).map(|_| flood_call(&client, "flood")).collect();
    let (refused, running) = first_answers(flood, 10).await;
    for answer in &refused {
        assert_overloaded(answer, Scope::Tenant, Lane::Production);
    }
    assert_eq!(running.len(), 2, "the tenant's share still runs");

    let mut calm = client.clone();
    for _ in 0..3 {
        let login = execute(
            &mut calm,
            "calm",
            "login.post-login",
            event("ada@example.com", Some("gold")),
        )
        .await;
        assert_eq!(login.decision(), Decision::Allow, "{login:?}");
        assert_eq!(
            claims(&login),
            json!({ "https://example.com/tier": "gold" })
        );
    }
    assert!(
        running.iter().all(|c| !c.is_finished()),
        "the flood was still running during the other tenant's sign-ins"
    );
    for call in running {
        call.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_runs_have_slots_of_their_own_and_a_share_per_tenant() {
    let (runner, spinner) = two_tenants().await;
    let client = runner.client().await;
    let test_run = |tenant: &str| {
        let mut client = client.clone();
        let request = ExecuteActionRequest {
            tenant: tenant.into(),
            trigger: "login.post-login".into(),
            event_json: event("t@example.com", None),
            config_json: String::new(),
            module_sha256: spinner.clone(),
            ..ExecuteActionRequest::default()
        };
        tokio::spawn(async move { client.execute_action(request).await.map(|r| r.into_inner()) })
    };
    let tests: Vec<_> = (0..8).map(|_| test_run("flood")).collect();
    let (refused, running_tests) = first_answers(tests, 6).await;
    for answer in &refused {
        assert_overloaded(answer, Scope::Tenant, Lane::Test);
    }
    // The test slots are the tests' own: the same tenant's sign-ins and
    // another tenant's still run with all the test slots it may hold taken.
    let production: Vec<_> = (0..2).map(|_| flood_call(&client, "flood")).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        production.iter().all(|c| !c.is_finished()),
        "the tenant's sign-ins were admitted beside its test runs"
    );
    let mut calm = client.clone();
    let login = execute(
        &mut calm,
        "calm",
        "login.post-login",
        event("ada@example.com", Some("gold")),
    )
    .await;
    assert_eq!(login.decision(), Decision::Allow, "{login:?}");
    for call in running_tests {
        call.abort();
    }
    for call in production {
        call.abort();
    }
}
