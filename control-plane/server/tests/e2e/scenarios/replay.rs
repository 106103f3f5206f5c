//! Replay: a production run's record keeps what it read (the event, each
//! binding's config, clock readings, random seed and fetch answers), and
//! `ReplayRun` runs it again from the record on the test runner, with the
//! versions that ran or another in place of one Action, saying whether it
//! answers the same or where it first differs.

use super::{POST_LOGIN, attach, create, event, publish, runs_when, save, source};
use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_proto::details::{NO_REPLAY_DATA, precondition_violations};
use actions_test_support::{LoopbackHttp, auth, examples};
use prost::Message as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tonic::Code;

/// A secret the oracle sends in its fetch's URL: the record must keep it
/// redacted, and the replay must still match.
const API_KEY: &str = "sk_live_replay_5e1f9a";

/// Reads everything an Action can read from outside itself: the clock,
/// randomness, a fetch answer (new on every call), and a secret.
const ORACLE: &str = r#"export async function execute(event: any, api: any) {
  const started = Date.now();
  const lucky = Math.random();
  const response = await api.fetch(event.config.url + '?key=' + event.secrets.API_KEY);
  const data: any = await response.json();
  console.log(`answer ${data.answer} at ${new Date(started).toISOString()} using ${event.secrets.API_KEY}`);
  api.accessToken.setCustomClaim('https://x/oracle', { started, lucky, answer: data.answer });
}
"#;

/// A starter's sources: every file of its `src/`.
fn starter(name: &str) -> pb::Source {
    let dir = examples().join("starters").join(name).join("src");
    let files = std::fs::read_dir(&dir)
        .expect("starter sources")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy();
            let text = std::fs::read_to_string(&path).expect("source");
            (format!("src/{name}"), text)
        })
        .collect();
    pb::Source {
        files,
        entry: "src/index.ts".into(),
    }
}

/// An HTTP server on loopback whose every answer is new.
async fn counting_server() -> (LoopbackHttp, Arc<AtomicU64>) {
    let answered = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&answered);
    let server = LoopbackHttp::start(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let body = json!({ "answer": n }).to_string();
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    })
    .await;
    (server, answered)
}

async fn replay(
    h: &Harness,
    token: &str,
    request: pb::ReplayRunRequest,
) -> Result<pb::ReplayRunResponse, tonic::Status> {
    h.tests()
        .replay_run(auth(request, token))
        .await
        .map(tonic::Response::into_inner)
}

async fn record(h: &Harness, token: &str, run_id: &str) -> pb::RunRecord {
    runs_when(h, token, pb::ListRunsRequest::default(), |runs| {
        runs.iter().any(|r| r.run_id() == run_id)
    })
    .await;
    h.audit()
        .get_run(auth(
            pb::GetRunRequest {
                run_id: run_id.into(),
            },
            token,
        ))
        .await
        .expect("get run")
        .into_inner()
}

fn holds(bytes: &[u8], value: &str) -> bool {
    bytes
        .windows(value.len())
        .any(|window| window == value.as_bytes())
}

pub async fn recorded_runs_replay_exactly_and_a_changed_version_shows_where_it_parts(h: &Harness) {
    let token = h.tenant("acme").await;
    let (server, answered) = counting_server().await;
    let url = format!("http://127.0.0.1:{}/oracle", server.port);

    // Every starter that runs at post-login, and the oracle, in one slot.
    let allowlist: Value =
        serde_json::from_str(&event("starters/domain-allowlist/config.json")).expect("config");
    let slot = [
        ("custom-claim", starter("custom-claim"), json!({})),
        ("domain-allowlist", starter("domain-allowlist"), allowlist),
        ("empty", starter("empty"), json!({})),
        (
            "webhook-emit",
            starter("webhook-emit"),
            json!({ "webhook_url": h.webhook_url }),
        ),
    ];
    let mut bindings = Vec::new();
    for (slug, source, config) in slot {
        create(h, &token, slug, &[POST_LOGIN], "", source)
            .await
            .expect("create");
        publish(h, &token, slug, "0.1.0").await.expect("publish");
        let binding = attach(h, &token, POST_LOGIN, slug, config, false)
            .await
            .expect("attach");
        bindings.push(binding.id);
    }
    h.actions()
        .create_action(auth(
            pb::CreateActionRequest {
                slug: "oracle".into(),
                name: "Oracle".into(),
                triggers: vec![POST_LOGIN.into()],
                source: Some(source(ORACLE)),
                secrets: vec![pb::SecretDeclaration {
                    name: "API_KEY".into(),
                    description: "the oracle's key".into(),
                }],
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("create the oracle");
    h.secrets()
        .set_secret(auth(
            pb::SetSecretRequest {
                action_slug: "oracle".into(),
                name: "API_KEY".into(),
                value: API_KEY.into(),
            },
            &token,
        ))
        .await
        .expect("set its key");
    publish(h, &token, "oracle", "0.1.0")
        .await
        .expect("publish");
    let oracle = attach(
        h,
        &token,
        POST_LOGIN,
        "oracle",
        json!({ "url": url }),
        false,
    )
    .await
    .expect("attach");
    bindings.push(oracle.id);
    let ids: Vec<&str> = bindings.iter().map(String::as_str).collect();

    let login = event("starters/custom-claim/events/gold-user.json");
    let first = h.execute_when("acme", POST_LOGIN, &login, &ids).await;
    let second = h.execute_when("acme", POST_LOGIN, &login, &ids).await;
    let oracle_claim = |r: &actions_proto::runner::v1::ExecuteResponse| {
        serde_json::from_str::<Value>(&r.access_token_claims_json).expect("claims")
            ["https://x/oracle"]
            .clone()
    };
    assert_ne!(
        oracle_claim(&first),
        oracle_claim(&second),
        "two live runs read different answers"
    );

    // The record keeps the replay data, redacted; listings leave it out.
    let stored = record(h, &token, &first.run_id).await;
    let data = stored.replay.clone().expect("replay data kept");
    assert_eq!(stored.replay_omitted, "");
    assert_eq!(data.bindings.len(), 5);
    assert_eq!(
        serde_json::from_str::<Value>(&data.event_json).expect("event"),
        serde_json::from_str::<Value>(&login).expect("event")
    );
    let oracle_inputs = &data.bindings[4];
    assert_eq!(oracle_inputs.secret_names, ["API_KEY"]);
    assert_eq!(oracle_inputs.fetches.len(), 1);
    assert_eq!(
        oracle_inputs.fetches[0].url,
        format!("{url}?key=[redacted]")
    );
    assert!(!holds(&stored.encode_to_vec(), API_KEY), "{stored:?}");
    let listed = runs_when(h, &token, pb::ListRunsRequest::default(), |_| true).await;
    assert!(listed.iter().all(|r| r.replay.is_none()));

    // Replayed as it ran: identical, and nothing went out to the network.
    let fetched = answered.load(Ordering::SeqCst);
    let same = replay(
        h,
        &token,
        pb::ReplayRunRequest {
            run_id: first.run_id.clone(),
            ..Default::default()
        },
    )
    .await
    .expect("replay");
    assert!(same.identical, "{:?}", same.differences);
    assert!(same.differences.is_empty());
    let replayed = same.replayed.expect("replayed");
    assert_eq!(
        replayed.access_token_claims_json,
        first.access_token_claims_json
    );
    assert_eq!(replayed.bindings.len(), 5);
    for (a, b) in first.bindings.iter().zip(&replayed.bindings) {
        let lines = |r: &actions_proto::runner::v1::BindingResult| -> Vec<String> {
            r.logs.iter().map(|l| l.message.clone()).collect()
        };
        assert_eq!(lines(a), lines(b), "{}", a.action_slug);
        assert_eq!(b.replay_divergence, "");
    }
    assert_eq!(
        answered.load(Ordering::SeqCst),
        fetched,
        "no fetch went out"
    );

    // Another version in place of the oracle: it fetches another path, and
    // the first difference is that read.
    let changed = ORACLE.replace(
        "event.config.url + '?key='",
        "event.config.url + '/v2?key='",
    );
    save(h, &token, "oracle", "0.2.0", "", source(&changed))
        .await
        .expect("save 0.2.0");
    let parted = replay(
        h,
        &token,
        pb::ReplayRunRequest {
            run_id: first.run_id.clone(),
            action_slug: "oracle".into(),
            version: "0.2.0".into(),
            ..Default::default()
        },
    )
    .await
    .expect("replay against 0.2.0");
    assert!(!parted.identical);
    assert_eq!(parted.differences[0].path, "bindings[4].inputs");
    assert!(
        parted
            .differences
            .iter()
            .any(|d| d.path == "bindings[4].outcome"),
        "{:?}",
        parted.differences
    );
    let replayed = parted.replayed.expect("replayed");
    assert_eq!(replayed.bindings[4].action_version, "0.2.0");

    // An unsaved source in its place (the fix being written) that reads
    // nothing new: identical but for what it logs.
    let quieter = ORACLE.replace("console.log(", "void (");
    let unsaved = replay(
        h,
        &token,
        pb::ReplayRunRequest {
            run_id: first.run_id.clone(),
            action_slug: "oracle".into(),
            source: Some(source(&quieter)),
            ..Default::default()
        },
    )
    .await
    .expect("replay against a source");
    let paths: Vec<&str> = unsaved
        .differences
        .iter()
        .map(|d| d.path.as_str())
        .collect();
    assert_eq!(paths, ["bindings[4].logs[0]"]);
    assert_eq!(unsaved.differences[0].replayed, "");

    // Refusals, each naming what was wrong.
    let refused = |result: Result<pb::ReplayRunResponse, tonic::Status>| {
        result.map(drop).expect_err("refused")
    };
    let several = refused(
        replay(
            h,
            &token,
            pb::ReplayRunRequest {
                run_id: first.run_id.clone(),
                version: "0.2.0".into(),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(several.code(), Code::InvalidArgument, "{several:?}");
    let unknown_version = refused(
        replay(
            h,
            &token,
            pb::ReplayRunRequest {
                run_id: first.run_id.clone(),
                action_slug: "oracle".into(),
                version: "9.9.9".into(),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(unknown_version.code(), Code::NotFound);
    let unknown_run = refused(
        replay(
            h,
            &token,
            pb::ReplayRunRequest {
                run_id: "no-such-run".into(),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(unknown_run.code(), Code::NotFound);
    let other = h.tenant("other").await;
    let not_theirs = refused(
        replay(
            h,
            &other,
            pb::ReplayRunRequest {
                run_id: first.run_id.clone(),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(not_theirs.code(), Code::NotFound, "another tenant's run");
}

pub async fn a_run_that_read_more_than_a_record_keeps_says_it_cannot_be_replayed(h: &Harness) {
    let token = h.tenant("acme").await;
    // 40,000 clock readings are over the 512 KiB a record keeps; 1,000 are not.
    let reader = |reads: u32| {
        source(&format!(
            "export function execute(event: any, api: any) {{ let t = 0; for (let i = 0; i < {reads}; i++) t += Date.now() % 2; }}"
        ))
    };
    create(h, &token, "clock-reader", &[POST_LOGIN], "", reader(1_000))
        .await
        .expect("create");
    save(h, &token, "clock-reader", "0.2.0", "", reader(40_000))
        .await
        .expect("save");
    let login = super::login_event("ada@example.com");
    publish(h, &token, "clock-reader", "0.1.0")
        .await
        .expect("publish");
    let binding = attach(h, &token, POST_LOGIN, "clock-reader", json!({}), false)
        .await
        .expect("attach");
    let within = h
        .execute_when("acme", POST_LOGIN, &login, &[&binding.id])
        .await;
    let kept = record(h, &token, &within.run_id).await;
    assert!(kept.replay.is_some(), "{}", kept.replay_omitted);
    let same = replay(
        h,
        &token,
        pb::ReplayRunRequest {
            run_id: within.run_id.clone(),
            ..Default::default()
        },
    )
    .await
    .expect("replay");
    assert!(same.identical, "{:?}", same.differences);

    publish(h, &token, "clock-reader", "0.2.0")
        .await
        .expect("publish 0.2.0");
    let over = loop {
        let answer = h
            .execute_when("acme", POST_LOGIN, &login, &[&binding.id])
            .await;
        if answer.bindings[0].action_version == "0.2.0" {
            break answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    let omitted = record(h, &token, &over.run_id).await;
    assert!(omitted.replay.is_none());
    assert!(!omitted.replay_omitted.is_empty());
    let status = replay(
        h,
        &token,
        pb::ReplayRunRequest {
            run_id: over.run_id.clone(),
            ..Default::default()
        },
    )
    .await
    .map(drop)
    .expect_err("no replay data");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let violations = precondition_violations(&status);
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].r#type, NO_REPLAY_DATA);
    assert_eq!(violations[0].subject, over.run_id);
}
