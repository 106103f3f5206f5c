//! `api.fetch` through the runner's guard: internal addresses refused in
//! every spelling, the operator's allow-list, redirects to the metadata
//! address, and responses over the size limit.

use crate::common::{Runner, claims, event, inline, local_http};
use actions_proto::runner::v1::{ExecuteActionRequest, Outcome, execution_client::ExecutionClient};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tonic::transport::Channel;

const PROBE: &str = r#"export async function execute(event: any, api: any) {
  try {
    const response = await api.fetch(event.config.url, { method: event.config.method ?? 'GET', body: event.config.body });
    api.accessToken.setCustomClaim('https://t/status', response.status);
    api.accessToken.setCustomClaim('https://t/body', await response.text());
  } catch (e) {
    api.accessToken.setCustomClaim('https://t/error', String(e));
  }
}"#;

async fn probe(client: &mut ExecutionClient<Channel>, sha: &str, config: Value) -> Value {
    let response = client
        .execute_action(ExecuteActionRequest {
            tenant: "acme".into(),
            trigger: "login.post-login".into(),
            event_json: event("a@example.com", None),
            config_json: config.to_string(),
            module_sha256: sha.into(),
            ..ExecuteActionRequest::default()
        })
        .await
        .expect("execute_action succeeds")
        .into_inner();
    assert_eq!(
        response.bindings[0].outcome,
        Outcome::Allowed as i32,
        "{:?}",
        response.bindings[0]
    );
    claims(&response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_refuses_internal_addresses_in_every_spelling() {
    let http = local_http().await;
    let probe_sha = Arc::new(Mutex::new(String::new()));
    let sha = Arc::clone(&probe_sha);
    let flows = move |m: &Path| {
        *sha.lock().expect("lock") = inline(m, PROBE);
        json!({ "tenants": { "acme": { "slots": {} } } })
    };
    let guarded = Runner::start(flows.clone(), &[], "").await;
    let sha = probe_sha.lock().expect("lock").clone();
    let mut client = guarded.client().await;
    let port = http.port;
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0177.0.0.1:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00:ec2::254]/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://192.168.1.1/".to_owned(),
        "ftp://example.com/file".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        let claims = probe(&mut client, &sha, json!({ "url": url })).await;
        let error = claims["https://t/error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains("api.fetch refused"), "{url}: {claims}");
    }
    assert!(
        http.received.lock().expect("lock").is_empty(),
        "nothing reached the server"
    );
    guarded.stop().await;

    // The same server, reached through the operator's allow-list.
    let allowed = Runner::start(flows, &["127.0.0.1/32"], "").await;
    let sha = probe_sha.lock().expect("lock").clone();
    let mut client = allowed.client().await;
    let claims = probe(
        &mut client,
        &sha,
        json!({ "url": format!("http://127.0.0.1:{port}/tier") }),
    )
    .await;
    assert_eq!(claims["https://t/status"], json!(200));
    assert_eq!(
        claims["https://t/body"],
        json!(r#"{"tier":"from-local-server"}"#)
    );
    // A redirect from an allowed server to the metadata address is refused.
    let claims = probe(
        &mut client,
        &sha,
        json!({ "url": format!("http://127.0.0.1:{port}/redirect-to-metadata") }),
    )
    .await;
    assert!(
        claims["https://t/error"]
            .as_str()
            .is_some_and(|e| e.contains("169.254.169.254")),
        "{claims}"
    );
    // A response over the limit (1 MiB by default) is cut off with an error.
    let claims = probe(
        &mut client,
        &sha,
        json!({ "url": format!("http://127.0.0.1:{port}/big") }),
    )
    .await;
    assert!(
        claims["https://t/error"]
            .as_str()
            .is_some_and(|e| e.contains("over the limit")),
        "{claims}"
    );
    allowed.stop().await;
}

/// A name that resolves only to refused addresses gets the same answer as
/// one that does not resolve: the error names the host as the Action gave
/// it, and no address it resolved to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_name_does_not_tell_the_action_where_it_resolves() {
    let probe_sha = Arc::new(Mutex::new(String::new()));
    let sha = Arc::clone(&probe_sha);
    let runner = Runner::start(
        move |m: &Path| {
            *sha.lock().expect("lock") = inline(m, PROBE);
            json!({ "tenants": { "acme": { "slots": {} } } })
        },
        &[],
        "",
    )
    .await;
    let sha = probe_sha.lock().expect("lock").clone();
    let mut client = runner.client().await;
    let mut errors = Vec::new();
    for url in [
        "http://localhost:9/",
        "http://localhost./private",
        "http://does-not-exist.invalid/",
    ] {
        let claims = probe(&mut client, &sha, json!({ "url": url })).await;
        let error = claims["https://t/error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let host = url.trim_start_matches("http://").split([':', '/']).next();
        assert!(
            host.is_some_and(|host| error.contains(host)),
            "the error names the host as given: {error}"
        );
        let ip_literals: Vec<&str> = error
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '[' | ']'))
            .map(|word| word.trim_end_matches([':', '.']))
            .filter(|word| word.parse::<std::net::IpAddr>().is_ok())
            .collect();
        assert!(
            ip_literals.is_empty(),
            "{url}: the error shows {ip_literals:?}: {error}"
        );
        errors.push(error.replace(url, "URL"));
    }
    assert_eq!(
        errors[0].replace("localhost", "HOST"),
        errors[2].replace("does-not-exist.invalid", "HOST"),
        "an internal name and a name that does not resolve get the same words"
    );
    runner.stop().await;
}
