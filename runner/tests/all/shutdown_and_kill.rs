//! A runner stopped or killed: a graceful shutdown lets in-flight calls
//! finish, and a runner process SIGKILLed (idle or under load) loses no
//! record of a call it answered.

use crate::common::record_sink::{start_sink, wait_for_records};
use crate::common::{
    Runner, binding, claims, connect_when_up, event, execute, inline, spawn_runner, starter,
};
use actions_proto::runner::v1::ExecuteRequest;
use actions_runner::settings::RunnerSettings;
use actions_test_support::{cache_dir, free_port};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// A runner process's settings: custom-claim on acme's post-login, a record
/// spool, and a control plane on a port nobody listens on yet. The folder
/// lives as long as the returned `TempDir`.
fn runner_process_settings() -> (tempfile::TempDir, PathBuf, u16, u16) {
    let dir = tempfile::tempdir().expect("tempdir");
    let modules = dir.path().join("modules");
    std::fs::create_dir_all(&modules).expect("mkdir");
    let sha = starter(&modules, "custom-claim");
    let flows_file = dir.path().join("flows.json");
    std::fs::write(&flows_file, json!({ "tenants": { "acme": { "slots": { "login.post-login": [binding("b", "custom-claim", &sha, json!({}), false, json!({}))] } } } }).to_string()).expect("write");
    let (runner_port, control_port) = (free_port(), free_port());
    let settings = dir.path().join("runner.toml");
    let mut runner_settings = RunnerSettings::new(&modules);
    runner_settings.listen = format!("127.0.0.1:{runner_port}");
    runner_settings.insecure_no_auth = true;
    runner_settings.flows_file = Some(flows_file);
    runner_settings.cache_dir = Some(cache_dir!());
    runner_settings.control_plane = Some(format!("http://127.0.0.1:{control_port}"));
    runner_settings.records.spool_dir = Some(dir.path().join("spool"));
    std::fs::write(
        &settings,
        runner_settings.to_toml().expect("settings serialise"),
    )
    .expect("write settings");
    (dir, settings, runner_port, control_port)
}

/// SIGKILL in the middle of eight callers' load: every call either got a
/// whole answer or a transport error (never half an answer), and the record
/// of every answered call arrives after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_under_load_loses_no_answered_record() {
    let (_dir, settings, runner_port, control_port) = runner_process_settings();
    let mut first = spawn_runner(&settings, &[]);
    let client = connect_when_up(runner_port).await;
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move {
                let mut answered = Vec::new();
                loop {
                    let call = client
                        .execute(ExecuteRequest {
                            tenant: "acme".into(),
                            trigger: "login.post-login".into(),
                            event_json: event("a@example.com", Some("gold")),
                            ..ExecuteRequest::default()
                        })
                        .await;
                    match call {
                        Ok(response) => {
                            let response = response.into_inner();
                            assert_eq!(
                                claims(&response)["https://example.com/tier"],
                                json!("gold"),
                                "a whole answer"
                            );
                            answered.push(response.run_id);
                        }
                        Err(status) => return (answered, status),
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let mut answered = Vec::new();
    for caller in callers {
        let (ids, status) = caller.await.expect("caller");
        assert!(
            matches!(
                status.code(),
                tonic::Code::Unavailable
                    | tonic::Code::Unknown
                    | tonic::Code::Cancelled
                    // h2 reports a stream reset by a dead peer as INTERNAL.
                    | tonic::Code::Internal
            ),
            "a dead runner is a transport error: {status:?}"
        );
        answered.extend(ids);
    }
    assert!(
        answered.len() > 8,
        "the load ran: {} answers",
        answered.len()
    );

    let (sink, stop_sink) = start_sink(control_port).await;
    let mut second = spawn_runner(&settings, &[]);
    let started = std::time::Instant::now();
    loop {
        let received: std::collections::HashSet<String> = sink
            .records
            .lock()
            .expect("lock")
            .iter()
            .map(|r| r.run_id().to_owned())
            .collect();
        let missing = answered.iter().filter(|id| !received.contains(*id)).count();
        if missing == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{missing} of {} answered calls have no record",
            answered.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.kill().expect("SIGKILL");
    second.wait().expect("reaped");
    let _ = stop_sink.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_and_restarted_loses_no_record() {
    let (_dir, settings, runner_port, control_port) = runner_process_settings();
    let spawn = || spawn_runner(&settings, &[]);
    let connect = || connect_when_up(runner_port);

    let mut first = spawn();
    let mut client = connect().await;
    let mut run_ids = Vec::new();
    for _ in 0..3 {
        run_ids.push(
            execute(
                &mut client,
                "acme",
                "login.post-login",
                event("a@example.com", Some("gold")),
            )
            .await
            .run_id,
        );
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");

    let (sink, stop_sink) = start_sink(control_port).await;
    let mut second = spawn();
    let mut client = connect().await;
    run_ids.push(
        execute(
            &mut client,
            "acme",
            "login.post-login",
            event("a@example.com", Some("gold")),
        )
        .await
        .run_id,
    );
    let records = wait_for_records(&sink, 4).await;
    let mut received: Vec<_> = records.iter().map(|r| r.run_id().to_owned()).collect();
    received.sort();
    run_ids.sort();
    assert_eq!(
        received, run_ids,
        "the three records of the killed runner and the new one"
    );
    second.kill().expect("SIGKILL");
    second.wait().expect("reaped");
    let _ = stop_sink.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_calls_finish() {
    let runner = Runner::start(
        |m| {
            let slow = inline(m, "export function execute(e: any, api: any) { const end = Date.now() + 400; while (Date.now() < end) {} api.accessToken.setCustomClaim('https://x/done', true); }");
            json!({ "tenants": { "acme": { "slots": { "login.post-login": [binding("b", "slow", &slow, json!({}), false, json!({ "fuel": 1_000_000_000_000u64 }))] } } } })
        },
        &[],
        "",
    )
    .await;
    let mut client = runner.client().await;
    let in_flight = tokio::spawn(async move {
        execute(
            &mut client,
            "acme",
            "login.post-login",
            event("a@example.com", None),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let address = runner.address;
    runner.stop().await;
    let response = in_flight.await.expect("the call finished");
    assert_eq!(claims(&response), json!({ "https://x/done": true }));
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "no new connections after shutdown"
    );
}
