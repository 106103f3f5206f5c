//! `Execute` over a real socket: the starters end to end, bindings in order
//! with merged claims and a deny that stops the rest, fail-open and
//! fail-closed timeouts, no pollution between runs or tenants, and two
//! runners sharing one machine.

use crate::common::{Runner, binding, claims, event, execute, inline, local_http, starter};
use actions_proto::runner::v1::{Decision, Outcome};
use serde_json::{Value, json};
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_four_starters_through_execute() {
    let http = local_http().await;
    let hook = format!("http://127.0.0.1:{}/hook", http.port);
    let runner = Runner::start(
        |m| {
            json!({ "revision": 1, "tenants": { "acme": { "slots": {
                "login.pre-credential-check": [binding("b1", "domain-allowlist", &starter(m, "domain-allowlist"), json!({ "allowed_domains": ["example.com"] }), false, json!({}))],
                "login.post-login": [
                    binding("b2", "empty", &starter(m, "empty"), json!({}), false, json!({})),
                    binding("b3", "custom-claim", &starter(m, "custom-claim"), json!({}), false, json!({})),
                ],
                "registration.post-create": [binding("b4", "webhook-emit", &starter(m, "webhook-emit"), json!({ "webhook_url": hook }), true, json!({}))],
            } } } })
        },
        &["127.0.0.1/32"],
        "",
    )
    .await;
    let mut client = runner.client().await;

    let allowed = execute(
        &mut client,
        "acme",
        "login.pre-credential-check",
        event("ada@example.com", None),
    )
    .await;
    assert_eq!(allowed.decision, Decision::Allow as i32);
    let denied = execute(
        &mut client,
        "acme",
        "login.pre-credential-check",
        event("eve@evil.test", None),
    )
    .await;
    assert_eq!(denied.decision, Decision::Deny as i32);
    assert_eq!(
        denied.deny_reason,
        "Sign-in restricted. Use an email at one of: example.com."
    );
    assert_eq!(denied.bindings[0].logs[0].message, "refused evil.test");

    let login = execute(
        &mut client,
        "acme",
        "login.post-login",
        event("ada@example.com", Some("gold")),
    )
    .await;
    assert_eq!(login.decision, Decision::Allow as i32);
    assert_eq!(
        claims(&login),
        json!({ "https://example.com/tier": "gold" })
    );
    assert_eq!(login.bindings.len(), 2);
    assert!(
        login
            .bindings
            .iter()
            .all(|b| b.outcome == Outcome::Allowed as i32 && b.fuel > 0)
    );
    assert_eq!(login.run_id.len(), 32);

    let signup = execute(
        &mut client,
        "acme",
        "registration.post-create",
        event("new@example.com", None),
    )
    .await;
    assert_eq!(signup.decision, Decision::Allow as i32);
    assert_eq!(
        signup.bindings[0].outcome,
        Outcome::Allowed as i32,
        "{:?}",
        signup.bindings[0]
    );
    let received = http.received.lock().expect("lock").clone();
    assert_eq!(received.len(), 1, "the webhook was called once");
    assert!(
        received[0].starts_with("POST /hook HTTP/1.1"),
        "{}",
        received[0]
    );
    assert!(
        received[0].contains(r#""event":"user.signed_up""#)
            && received[0].contains(r#""email":"new@example.com""#)
    );
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bindings_run_in_order_merge_claims_and_a_deny_stops_the_rest() {
    let runner = Runner::start(
        |m| {
            let first = inline(m, "export function execute(e: any, api: any) { api.accessToken.setCustomClaim('https://x/a', 1); api.accessToken.setCustomClaim('https://x/shared', 'first'); api.accessToken.addScope('read'); console.log('first'); }");
            let second = inline(m, "export function execute(e: any, api: any) { api.accessToken.setCustomClaim('https://x/shared', 'second'); api.idToken.setCustomClaim('https://x/b', true); console.log('second'); if (e.user.email.endsWith('@blocked.test')) api.access.deny('blocked by second'); }");
            let third = inline(m, "export function execute(e: any, api: any) { api.accessToken.setCustomClaim('https://x/c', 3); console.log('third'); }");
            json!({ "tenants": { "acme": { "slots": { "login.post-login": [
                binding("one", "first", &first, json!({}), false, json!({})),
                binding("two", "second", &second, json!({}), false, json!({})),
                binding("three", "third", &third, json!({}), false, json!({})),
            ] } } } })
        },
        &[],
        "",
    )
    .await;
    let mut client = runner.client().await;
    let allowed = execute(
        &mut client,
        "acme",
        "login.post-login",
        event("ada@example.com", None),
    )
    .await;
    assert_eq!(allowed.decision, Decision::Allow as i32);
    assert_eq!(
        claims(&allowed),
        json!({ "https://x/a": 1, "https://x/shared": "second", "https://x/c": 3 })
    );
    assert_eq!(
        serde_json::from_str::<Value>(&allowed.id_token_claims_json).expect("json"),
        json!({ "https://x/b": true })
    );
    assert_eq!(allowed.scopes_added, ["read"]);
    let order: Vec<_> = allowed
        .bindings
        .iter()
        .map(|b| b.logs[0].message.clone())
        .collect();
    assert_eq!(order, ["first", "second", "third"]);

    let denied = execute(
        &mut client,
        "acme",
        "login.post-login",
        event("mallory@blocked.test", None),
    )
    .await;
    assert_eq!(denied.decision, Decision::Deny as i32);
    assert_eq!(denied.deny_reason, "blocked by second");
    let outcomes: Vec<_> = denied.bindings.iter().map(|b| b.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Allowed as i32,
            Outcome::Denied as i32,
            Outcome::Skipped as i32
        ]
    );
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_fails_open_or_closed_as_the_binding_says() {
    let runner = Runner::start(
        |m| {
            let slow = inline(m, "export function execute() { while (true) {} }");
            let claim = inline(m, "export function execute(e: any, api: any) { api.accessToken.setCustomClaim('https://x/after', 'ran'); }");
            let limits = json!({ "deadline_ms": 100, "fuel": 1_000_000_000_000u64 });
            json!({ "tenants": {
                "open": { "slots": { "login.post-login": [
                    binding("slow", "slow", &slow, json!({}), true, limits.clone()),
                    binding("next", "claim", &claim, json!({}), false, json!({})),
                ] } },
                "closed": { "slots": { "login.post-login": [
                    binding("slow", "slow", &slow, json!({}), false, limits),
                    binding("next", "claim", &claim, json!({}), false, json!({})),
                ] } },
            } })
        },
        &[],
        "",
    )
    .await;
    let mut client = runner.client().await;
    let open = execute(
        &mut client,
        "open",
        "login.post-login",
        event("a@example.com", None),
    )
    .await;
    assert_eq!(open.decision, Decision::Allow as i32);
    assert_eq!(open.bindings[0].outcome, Outcome::DeadlineExceeded as i32);
    assert!(open.bindings[0].failed_open);
    assert_eq!(claims(&open), json!({ "https://x/after": "ran" }));

    let closed = execute(
        &mut client,
        "closed",
        "login.post-login",
        event("a@example.com", None),
    )
    .await;
    assert_eq!(closed.decision, Decision::Deny as i32);
    assert!(
        closed.deny_reason.contains("deadline_exceeded"),
        "{}",
        closed.deny_reason
    );
    assert_eq!(closed.bindings[1].outcome, Outcome::Skipped as i32);
    runner.stop().await;
}

/// One pool slot: every run reuses the memory the previous one dirtied,
/// whichever tenant it belonged to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_pollution_reaches_neither_its_next_run_nor_another_tenant() {
    let polluter = r#"export function execute(event: any, api: any) {
      api.accessToken.setCustomClaim('https://x/seen-before', [typeof (globalThis as any).leaked, ({} as any).polluted === true, JSON.stringify([1])]);
      (globalThis as any).leaked = 'acme secret';
      (Object.prototype as any).polluted = true;
      JSON.stringify = () => '"x"';
    }"#;
    let observer = r#"export function execute(event: any, api: any) {
      api.accessToken.setCustomClaim('https://x/world', [typeof (globalThis as any).leaked, ({} as any).polluted === true, JSON.stringify([1]), Object.getOwnPropertyNames(globalThis).length]);
    }"#;
    let runner = Runner::start_with(
        |m| {
            let polluter = inline(m, polluter);
            let observer = inline(m, observer);
            json!({ "tenants": {
                "acme": { "slots": { "login.post-login": [binding("p", "polluter", &polluter, json!({}), false, json!({}))] } },
                "globex": { "slots": { "login.post-login": [binding("o", "observer", &observer, json!({}), false, json!({}))] } }
            } })
        },
        &[],
        "",
        |settings| settings.max_concurrent_runs = 1,
    )
    .await;
    let mut client = runner.client().await;
    let login = || event("a@example.com", None);
    let pristine = claims(&execute(&mut client, "globex", "login.post-login", login()).await);
    for _ in 0..3 {
        let acme = claims(&execute(&mut client, "acme", "login.post-login", login()).await);
        assert_eq!(
            acme["https://x/seen-before"],
            json!(["undefined", false, "[1]"]),
            "the same tenant's next run"
        );
        let globex = claims(&execute(&mut client, "globex", "login.post-login", login()).await);
        assert_eq!(globex, pristine, "another tenant's run");
    }
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_share_one_machine_and_the_load() {
    let flows = |m: &Path| json!({ "tenants": { "acme": { "slots": { "login.post-login": [binding("b", "custom-claim", &starter(m, "custom-claim"), json!({}), false, json!({}))] } } } });
    let (first, second) = (
        Runner::start(flows, &[], "").await,
        Runner::start(flows, &[], "").await,
    );
    assert_ne!(first.address, second.address);
    let clients = [first.client().await, second.client().await];
    let calls = (0..40).map(|i| {
        let mut client = clients[i % 2].clone();
        async move {
            execute(
                &mut client,
                "acme",
                "login.post-login",
                event("a@example.com", Some("gold")),
            )
            .await
        }
    });
    let responses = futures::future::join_all(calls).await;
    assert!(
        responses
            .iter()
            .all(|r| claims(r) == json!({ "https://example.com/tier": "gold" }))
    );
    first.stop().await;
    second.stop().await;
}

/// One tenant's module that does not load (here: not an Action at all)
/// fails that tenant's binding as its policy says; the runner starts, and
/// every other tenant is served as if nothing happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_that_does_not_load_fails_only_its_own_binding() {
    use sha2::{Digest, Sha256};
    let runner = Runner::start(
        |m| {
            let garbage = b"not an Action module".as_slice();
            let broken = hex::encode(Sha256::digest(garbage));
            std::fs::write(m.join(format!("{broken}.wasm")), garbage).expect("write");
            json!({ "tenants": {
                "acme": { "slots": { "login.post-login": [binding("broken", "broken", &broken, json!({}), false, json!({}))] } },
                "globex": { "slots": { "login.post-login": [binding("fine", "custom-claim", &starter(m, "custom-claim"), json!({}), false, json!({}))] } }
            } })
        },
        &[],
        "",
    )
    .await;
    let mut client = runner.client().await;
    let healthy = execute(
        &mut client,
        "globex",
        "login.post-login",
        event("ada@example.com", Some("gold")),
    )
    .await;
    assert_eq!(healthy.decision, Decision::Allow as i32);
    assert_eq!(claims(&healthy)["https://example.com/tier"], "gold");
    let broken = execute(
        &mut client,
        "acme",
        "login.post-login",
        event("ada@example.com", None),
    )
    .await;
    assert_eq!(broken.decision, Decision::Deny as i32, "fails closed");
    assert_eq!(broken.bindings[0].outcome(), Outcome::HostError);
    runner.stop().await;
}

/// Records keep what a replay needs by default, and nothing of it (not the
/// event) when the runner's settings say `records.replay_data = false`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_keep_replay_data_unless_the_runner_is_told_not_to() {
    for keep in [true, false] {
        let spool = tempfile::tempdir().expect("spool dir");
        let spool_dir = spool.path().to_owned();
        let runner = Runner::start_with(
            |m| {
                json!({ "revision": 1, "tenants": { "acme": { "slots": {
                    "login.post-login": [binding("b1", "custom-claim", &starter(m, "custom-claim"), json!({}), false, json!({}))],
                } } } })
            },
            &[],
            "",
            |settings| {
                settings.records.spool_dir = Some(spool_dir.clone());
                settings.records.replay_data = Some(keep);
            },
        )
        .await;
        let mut client = runner.client().await;
        let answer = execute(
            &mut client,
            "acme",
            "login.post-login",
            event("ada@example.com", Some("gold")),
        )
        .await;
        assert_eq!(answer.decision, Decision::Allow as i32);
        runner.stop().await;
        let records = actions_runner::spool::spooled_records(&spool_dir).expect("spool");
        assert_eq!(records.len(), 1);
        let record = &records[0];
        if keep {
            let replay = record.replay.as_ref().expect("replay data");
            assert_eq!(record.replay_omitted, "");
            assert!(replay.event_json.contains("ada@example.com"));
            assert_eq!(replay.bindings.len(), 1);
            assert_eq!(replay.bindings[0].binding_id, "b1");
        } else {
            assert_eq!(record.replay, None);
            assert_eq!(
                record.replay_omitted,
                actions_runner::execution::response::REPLAY_DATA_OFF
            );
        }
    }
}
