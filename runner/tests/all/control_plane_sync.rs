//! A runner with a control plane (the fake `RecordSink`): run records
//! spooled through an outage and pushed once it is back, flows followed
//! from the watch stream with modules fetched by hash, and served on after
//! the control plane goes away.

use crate::common::record_sink::{RecordSink, start_sink, wait_for_records};
use crate::common::{Runner, claims, event, execute, inline, starter};
use actions_proto::runner::v1::{ExecuteRequest, Outcome};
use actions_test_support::free_port;
use serde_json::{Value, json};
use std::time::Duration;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_records_arrive_after_a_control_plane_outage() {
    let port = free_port();
    let spool = tempfile::tempdir().expect("tempdir");
    let runner = Runner::start_with(
        |m| {
            let noisy = inline(m, "export function execute(e: any, api: any) { console.log('key is', e.secrets.api_key, 'for', e.user.email); }");
            json!({ "tenants": { "acme": { "slots": { "login.post-login": [
                { "id": "b", "action_slug": "noisy", "action_version": "1.0.0", "module_sha256": noisy, "secrets": { "api_key": "sk_live_12345" } }
            ] } } } })
        },
        &[],
        "",
        |settings| {
            settings.control_plane = Some(format!("http://127.0.0.1:{port}"));
            settings.records.spool_dir = Some(spool.path().to_owned());
        },
    )
    .await;
    let mut client = runner.client().await;
    let mut run_ids = Vec::new();
    for _ in 0..5 {
        run_ids.push(
            execute(
                &mut client,
                "acme",
                "login.post-login",
                event("a@example.com", None),
            )
            .await
            .run_id,
        );
    }
    // The control plane is down: every record waits in the spool.
    let spooled = actions_runner::spool::spooled_records(spool.path()).expect("spool");
    assert_eq!(spooled.len(), 5);

    let (sink, stop_sink) = start_sink(port).await;
    let records = wait_for_records(&sink, 5).await;
    let mut received: Vec<_> = records.iter().map(|r| r.run_id().to_owned()).collect();
    received.sort();
    run_ids.sort();
    assert_eq!(received, run_ids);
    let record = &records[0];
    assert_eq!(
        (
            record.tenant.as_str(),
            record.trigger.as_str(),
            record.decision().name()
        ),
        ("acme", "login.post-login", "allow")
    );
    assert_eq!(record.bindings()[0].outcome(), Outcome::Allowed);
    assert_eq!(
        record.bindings()[0].logs[0].message,
        "key is [redacted] for a@example.com",
        "secrets are redacted"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        actions_runner::spool::spooled_records(spool.path())
            .expect("spool")
            .len(),
        0,
        "acknowledged records leave the spool"
    );
    let _ = stop_sink.send(());
    runner.stop().await;
}

/// Secrets of every JSON type, put out every way a run can: logged,
/// thrown, denied with, set as claims, metadata and scopes. None of their
/// values reaches the caller or the record; short values and booleans are
/// left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_of_every_type_never_leave_the_runner() {
    const PIN: u64 = 98_765_432;
    const IN_AN_ARRAY: &str = "s3cr3t-in-an-array";
    const DEEP: u64 = 123_456_789_012;
    let port = free_port();
    let (sink, stop_sink) = start_sink(port).await;
    let spool = tempfile::tempdir().expect("tempdir");
    let runner = Runner::start_with(
        |m| {
            let leaky = inline(m, r#"export function execute(e: any, api: any) {
  const s = e.secrets;
  console.log('secrets', JSON.stringify(s), String(s.pin), s.nested.list[0]);
  api.accessToken.setCustomClaim('https://t/pin', s.pin);
  api.accessToken.setCustomClaim('https://t/nested', s.nested);
  api.accessToken.setCustomClaim('https://t/' + s.nested.list[0], 'as a name');
  api.idToken.setCustomClaim('https://t/text', `pin=${s.pin}`);
  api.user.setAppMetadata('deep', s.nested.list[1].deep);
  api.accessToken.addScope('scope:' + s.nested.list[0]);
  api.accessToken.setCustomClaim('https://t/short', s.short);
  api.accessToken.setCustomClaim('https://t/flag', s.flag);
}"#);
            let thrower = inline(m, "export function execute(e: any) { throw new Error(`boom ${e.secrets.pin} ${e.secrets.nested.list[1].deep}`); }");
            let denier = inline(m, "export function execute(e: any, api: any) { return api.access.deny(`no: ${e.secrets.nested.list[0]} ${e.secrets.pin}`); }");
            let secrets = json!({ "pin": PIN, "nested": { "list": [IN_AN_ARRAY, { "deep": DEEP }] }, "short": 42, "flag": true });
            let with_secrets = |id: &str, sha: &str, fail_open: bool| json!({ "id": id, "action_slug": id, "action_version": "1.0.0", "module_sha256": sha, "fail_open": fail_open, "secrets": secrets });
            json!({ "tenants": { "acme": { "slots": { "login.post-login": [
                with_secrets("leaky", &leaky, false),
                with_secrets("thrower", &thrower, true),
                with_secrets("denier", &denier, false),
            ] } } } })
        },
        &[],
        "",
        |settings| {
            settings.control_plane = Some(format!("http://127.0.0.1:{port}"));
            settings.records.spool_dir = Some(spool.path().to_owned());
        },
    )
    .await;
    let mut client = runner.client().await;
    let response = execute(
        &mut client,
        "acme",
        "login.post-login",
        event("a@example.com", None),
    )
    .await;
    let outcomes: Vec<Outcome> = response.bindings.iter().map(|b| b.outcome()).collect();
    assert_eq!(
        outcomes,
        [Outcome::Allowed, Outcome::GuestError, Outcome::Denied],
        "each binding put its secrets out its own way: {response:?}"
    );
    let record = wait_for_records(&sink, 1).await.remove(0);
    for (what, shown) in [
        ("the Execute response", format!("{response:?}")),
        ("the record", format!("{record:?}")),
    ] {
        for secret in [PIN.to_string(), IN_AN_ARRAY.to_owned(), DEEP.to_string()] {
            assert!(!shown.contains(&secret), "{secret} is in {what}: {shown}");
        }
        assert!(shown.contains("[redacted]"), "{what}");
    }
    let claims = claims(&response);
    assert_eq!(claims["https://t/pin"], json!("[redacted]"));
    assert_eq!(claims["https://t/short"], json!(42), "too short to redact");
    assert_eq!(
        claims["https://t/flag"],
        json!(true),
        "booleans are no secret"
    );
    let _ = stop_sink.send(());
    runner.stop().await;
}

async fn publish(sink: &RecordSink, update: actions_proto::controlplane::v1::FlowsUpdate) {
    let started = std::time::Instant::now();
    loop {
        let watchers = sink.watchers.lock().expect("lock").clone();
        if !watchers.is_empty() {
            for watcher in watchers {
                let _ = watcher.send(Ok(update.clone())).await;
            }
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no runner is watching"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn tenant_update(
    revision: u64,
    sha: &str,
    config: Value,
) -> actions_proto::controlplane::v1::FlowsUpdate {
    use actions_proto::controlplane::v1 as cp;
    cp::FlowsUpdate {
        revision,
        update: Some(cp::flows_update::Update::Tenant(cp::TenantFlows {
            tenant: "acme".into(),
            slots: vec![cp::Slot {
                trigger: "login.post-login".into(),
                bindings: vec![actions_proto::runner::v1::Binding {
                    id: "b".into(),
                    action_slug: "custom-claim".into(),
                    action_version: format!("1.0.{revision}"),
                    module_sha256: sha.into(),
                    config_json: config.to_string(),
                    fail_open: false,
                    limits: None,
                    ..Default::default()
                }],
            }],
        })),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_follow_the_control_plane_and_outlive_it() {
    use actions_proto::controlplane::v1 as cp;
    let port = free_port();
    let (sink, stop_sink) = start_sink(port).await;
    let store = tempfile::tempdir().expect("tempdir");
    let sha = starter(store.path(), "custom-claim");
    let wasm = std::fs::read(store.path().join(format!("{sha}.wasm"))).expect("module");
    sink.modules.lock().expect("lock").insert(sha.clone(), wasm);

    let runner = Runner::start_with(
        |_| json!({ "tenants": {} }),
        &[],
        "",
        |settings| {
            settings.control_plane = Some(format!("http://127.0.0.1:{port}"));
        },
    )
    .await;
    let mut client = runner.client().await;
    let status = client
        .execute(ExecuteRequest {
            tenant: "acme".into(),
            trigger: "login.post-login".into(),
            event_json: event("a@example.com", None),
            ..ExecuteRequest::default()
        })
        .await
        .expect_err("no such tenant yet");
    assert_eq!(status.code(), Code::NotFound);

    // A snapshot, then a change: each is served within a second.
    let snapshot = cp::FlowsUpdate {
        revision: 1,
        update: Some(cp::flows_update::Update::Snapshot(cp::FlowSnapshot {
            tenants: vec![match tenant_update(1, &sha, json!({})).update {
                Some(cp::flows_update::Update::Tenant(t)) => t,
                _ => unreachable!(),
            }],
        })),
    };
    for (update, expected) in [
        (snapshot, json!({ "https://example.com/tier": "free" })),
        (
            tenant_update(2, &sha, json!({ "default_tier": "trial" })),
            json!({ "https://example.com/tier": "trial" }),
        ),
    ] {
        publish(&sink, update).await;
        let published = std::time::Instant::now();
        loop {
            let result = client
                .execute(ExecuteRequest {
                    tenant: "acme".into(),
                    trigger: "login.post-login".into(),
                    event_json: event("a@example.com", None),
                    ..ExecuteRequest::default()
                })
                .await;
            if let Ok(response) = result
                && claims(response.get_ref()) == expected
            {
                break;
            }
            assert!(
                published.elapsed() < Duration::from_secs(5),
                "update not applied"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(
        runner.modules.join(format!("{sha}.wasm")).is_file(),
        "the fetched module is cached on disk"
    );

    // The control plane goes away: the runner keeps serving what it had.
    let _ = stop_sink.send(());
    sink.watchers.lock().expect("lock").clear();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = execute(
        &mut client,
        "acme",
        "login.post-login",
        event("a@example.com", None),
    )
    .await;
    assert_eq!(
        claims(&response),
        json!({ "https://example.com/tier": "trial" })
    );
    runner.stop().await;
}
