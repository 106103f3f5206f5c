//! The runner never serves without its tokens unless told to, and only on
//! loopback; an empty environment variable never replaces the token of the
//! settings file.

use crate::common::{binding, connect_when_up, event, spawn_runner, starter};
use actions_proto::bearer::ServingWithoutTokens;
use actions_proto::runner::v1::ExecuteRequest;
use actions_runner::RunnerError;
use actions_runner::execution::serve;
use actions_runner::settings::RunnerSettings;
use actions_runner::state::RunnerState;
use actions_test_support::{auth, cache_dir, free_port};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use tonic::Code;

/// Serves for up to two seconds: `Ok` if it was still serving then.
async fn serve_briefly(settings: RunnerSettings, address: &str) -> Result<(), RunnerError> {
    let state = tokio::task::spawn_blocking(move || RunnerState::new(settings))
        .await
        .expect("join")
        .expect("the runner's state");
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
    tokio::time::timeout(
        Duration::from_secs(2),
        serve(state, listener, std::future::pending()),
    )
    .await
    .unwrap_or(Ok(()))
}

fn settings(dir: &Path) -> RunnerSettings {
    let modules = dir.join("modules");
    std::fs::create_dir_all(&modules).expect("mkdir");
    let flows_file = dir.join("flows.json");
    std::fs::write(&flows_file, json!({ "tenants": {} }).to_string()).expect("flows");
    let mut settings = RunnerSettings::new(modules);
    settings.flows_file = Some(flows_file);
    settings.cache_dir = Some(cache_dir!());
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_never_serves_without_its_tokens_unless_told_on_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = |result: Result<(), RunnerError>| match result {
        Err(RunnerError::WithoutTokens(ServingWithoutTokens::MissingTokens { missing })) => missing,
        other => panic!("served without its tokens: {other:?}"),
    };
    assert_eq!(
        missing(serve_briefly(settings(dir.path()), "127.0.0.1:0").await),
        ["token"]
    );
    let mut without_sync_token = settings(dir.path());
    without_sync_token.token = "runner-token".into();
    without_sync_token.control_plane = Some(format!("http://127.0.0.1:{}", free_port()));
    assert_eq!(
        missing(serve_briefly(without_sync_token, "127.0.0.1:0").await),
        ["sync_token"]
    );
    let mut insecure = settings(dir.path());
    insecure.insecure_no_auth = true;
    assert!(matches!(
        serve_briefly(insecure.clone(), "0.0.0.0:0").await,
        Err(RunnerError::WithoutTokens(
            ServingWithoutTokens::NotLoopback { .. }
        ))
    ));
    serve_briefly(insecure, "127.0.0.1:0")
        .await
        .expect("serves without a token on loopback, when told to");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_environment_variable_never_replaces_the_files_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut runner_settings = settings(dir.path());
    let sha = starter(&runner_settings.modules_dir, "custom-claim");
    let flows_file = runner_settings.flows_file.clone().expect("flows file");
    std::fs::write(&flows_file, json!({ "tenants": { "acme": { "slots": { "login.post-login": [binding("b", "custom-claim", &sha, json!({}), false, json!({}))] } } } }).to_string()).expect("flows");
    let port = free_port();
    runner_settings.listen = format!("127.0.0.1:{port}");
    runner_settings.token = "token-from-the-file".into();
    let settings_file = dir.path().join("runner.toml");
    std::fs::write(&settings_file, runner_settings.to_toml().expect("toml")).expect("write");

    let mut runner = spawn_runner(
        &settings_file,
        &[
            ("ACTIONS_RUNNER_TOKEN", String::new()),
            ("ACTIONS_SYNC_TOKEN", String::new()),
        ],
    );
    let mut client = connect_when_up(port).await;
    let call = || ExecuteRequest {
        tenant: "acme".into(),
        trigger: "login.post-login".into(),
        event_json: event("a@example.com", Some("gold")),
        ..ExecuteRequest::default()
    };
    let anonymous = client.execute(call()).await.expect_err("no token");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    client
        .execute(auth(call(), "token-from-the-file"))
        .await
        .expect("the file's token stands");
    let _ = runner.kill();
    let _ = runner.wait();

    // Without a token anywhere, the binary does not start.
    runner_settings.token.clear();
    std::fs::write(&settings_file, runner_settings.to_toml().expect("toml")).expect("write");
    let mut refused = spawn_runner(&settings_file, &[("ACTIONS_RUNNER_TOKEN", String::new())]);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = refused.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a runner without a token kept running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success());
}
