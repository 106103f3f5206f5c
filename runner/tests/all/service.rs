//! The runner service over a real socket: real gRPC, real wasmtime, modules
//! compiled from the examples by the real compiler, and `api.fetch` through
//! the guarded HTTP client to a real HTTP server on loopback.

use actions_compiler::{Compiler, SourcePackage};
use actions_proto::runner::v1::{
    Decision, ExecuteActionRequest, ExecuteRequest, ExecuteResponse, Outcome,
    execution_client::ExecutionClient,
};
use actions_runner::service::{RunnerSettings, RunnerState, serve};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::transport::Channel;

static COMPILER: LazyLock<Compiler> =
    LazyLock::new(|| Compiler::new(Some(&cache_dir())).expect("compiler starts"));

fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Compiles a package into `modules`, returning its hash.
fn compile_into(modules: &Path, package: &SourcePackage) -> String {
    let compiled = COMPILER.compile(package).expect("compiles");
    std::fs::write(
        modules.join(format!("{}.wasm", compiled.sha256)),
        &compiled.wasm,
    )
    .expect("write module");
    compiled.sha256
}

fn starter(modules: &Path, name: &str) -> String {
    compile_into(
        modules,
        &SourcePackage::load(&examples().join("starters").join(name)).expect("loads"),
    )
}

fn inline(modules: &Path, source: &str) -> String {
    compile_into(
        modules,
        &SourcePackage::single("index.ts", source).expect("package"),
    )
}

const PROBE: &str = r#"export async function execute(event: any, api: any) {
  try {
    const response = await api.fetch(event.config.url, { method: event.config.method ?? 'GET', body: event.config.body });
    api.accessToken.setCustomClaim('https://t/status', response.status);
    api.accessToken.setCustomClaim('https://t/body', await response.text());
  } catch (e) {
    api.accessToken.setCustomClaim('https://t/error', String(e));
  }
}"#;

struct Runner {
    address: SocketAddr,
    flows_file: PathBuf,
    modules: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Runner {
    async fn start(
        flows: impl FnOnce(&Path) -> Value,
        allow_cidrs: &[&str],
        token: &str,
    ) -> Runner {
        Self::start_with(flows, allow_cidrs, token, "").await
    }

    /// `extra` goes into the settings file before `[fetch]`.
    async fn start_with(
        flows: impl FnOnce(&Path) -> Value,
        allow_cidrs: &[&str],
        token: &str,
        extra: &str,
    ) -> Runner {
        let dir = tempfile::tempdir().expect("tempdir");
        let modules = dir.path().join("modules");
        std::fs::create_dir_all(&modules).expect("mkdir");
        let flows_file = dir.path().join("flows.json");
        std::fs::write(&flows_file, flows(&modules).to_string()).expect("write flows");
        let concurrency = if extra.contains("max_concurrent_runs") {
            ""
        } else {
            "max_concurrent_runs = 32"
        };
        let settings: RunnerSettings = toml::from_str(&format!(
            r#"
            token = "{token}"
            flows_file = "{}"
            modules_dir = "{}"
            cache_dir = "{}"
            {concurrency}
            execute_budget_ms = 5000
            {extra}
            [fetch]
            allow_cidrs = {allow_cidrs:?}
            "#,
            flows_file.display(),
            modules.display(),
            cache_dir().display(),
        ))
        .expect("settings parse");
        let state = tokio::task::spawn_blocking(move || RunnerState::new(settings))
            .await
            .expect("join")
            .expect("runner starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            serve(state, listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("serves");
        });
        Runner {
            address,
            flows_file,
            modules,
            stop: Some(stop),
            served: Some(served),
            _dir: dir,
        }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .expect("uri")
            .connect()
            .await
            .expect("connects")
    }

    async fn client(&self) -> ExecutionClient<Channel> {
        ExecutionClient::new(self.channel().await)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.expect("server task");
        }
    }
}

fn event(email: &str, tier: Option<&str>) -> String {
    json!({
        "user": { "id": "u_1", "email": email, "name": "Ada", "app_metadata": tier.map_or(json!({}), |t| json!({ "tier": t })) },
        "client": { "id": "c_1", "metadata": {} }
    })
    .to_string()
}

async fn execute(
    client: &mut ExecutionClient<Channel>,
    tenant: &str,
    trigger: &str,
    event_json: String,
) -> ExecuteResponse {
    client
        .execute(ExecuteRequest {
            tenant: tenant.into(),
            trigger: trigger.into(),
            event_json,
            ..ExecuteRequest::default()
        })
        .await
        .expect("execute succeeds")
        .into_inner()
}

fn claims(response: &ExecuteResponse) -> Value {
    serde_json::from_str(&response.access_token_claims_json).expect("claims are JSON")
}

fn binding(
    id: &str,
    slug: &str,
    sha: &str,
    config: Value,
    fail_open: bool,
    limits: Value,
) -> Value {
    json!({ "id": id, "action_slug": slug, "action_version": "1.0.0", "module_sha256": sha,
            "config": config, "fail_open": fail_open, "limits": limits })
}

/// A one-route-per-path HTTP/1.1 server on loopback that records what it was sent.
struct LocalHttp {
    port: u16,
    received: Arc<Mutex<Vec<String>>>,
}

async fn local_http() -> LocalHttp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                let mut read = 0;
                let request = loop {
                    let Ok(n) = socket.read(&mut buffer[read..]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    read += n;
                    let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if read >= head_end + 4 + length {
                            break text;
                        }
                    }
                };
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                seen.lock().expect("lock").push(request);
                let (status, headers, body) = match path.as_str() {
                    "/redirect-to-metadata" => (
                        "302 Found",
                        "Location: http://169.254.169.254/latest/meta-data/\r\n".to_owned(),
                        String::new(),
                    ),
                    "/big" => ("200 OK", String::new(), "x".repeat(2 * 1024 * 1024)),
                    _ => (
                        "200 OK",
                        "Content-Type: application/json\r\n".to_owned(),
                        r#"{"tier":"from-local-server"}"#.to_owned(),
                    ),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    LocalHttp { port, received }
}

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

async fn probe(client: &mut ExecutionClient<Channel>, sha: &str, config: Value) -> Value {
    let response = client
        .execute_action(ExecuteActionRequest {
            tenant: "acme".into(),
            trigger: "login.post-login".into(),
            event_json: event("a@example.com", None),
            config_json: config.to_string(),
            module_sha256: sha.into(),
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
        "max_concurrent_runs = 1",
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
async fn bad_calls_get_clear_status_codes() {
    let runner = Runner::start(|m| json!({ "tenants": { "acme": { "slots": { "login.post-login": [binding("b", "empty", &starter(m, "empty"), json!({}), false, json!({}))] } } } }), &[], "s3cret").await;
    let mut client = runner.client().await;
    let call = |tenant: &str, trigger: &str, event_json: &str, token: Option<&str>| {
        let mut request = tonic::Request::new(ExecuteRequest {
            tenant: tenant.into(),
            trigger: trigger.into(),
            event_json: event_json.into(),
            ..ExecuteRequest::default()
        });
        if let Some(token) = token {
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().expect("header"),
            );
        }
        request
    };
    let good_event = event("a@example.com", None);
    let status = client
        .execute(call("acme", "login.post-login", &good_event, None))
        .await
        .expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .execute(call("acme", "login.post-login", &good_event, Some("wrong")))
        .await
        .expect_err("bad token");
    assert_eq!(status.code(), Code::Unauthenticated);
    let ok = client
        .execute(call(
            "acme",
            "login.post-login",
            &good_event,
            Some("s3cret"),
        ))
        .await
        .expect("good token");
    assert_eq!(ok.into_inner().decision, Decision::Allow as i32);

    let status = client
        .execute(call(
            "globex",
            "login.post-login",
            &good_event,
            Some("s3cret"),
        ))
        .await
        .expect_err("unknown tenant");
    assert_eq!(
        (status.code(), status.message()),
        (Code::NotFound, "unknown tenant \"globex\"")
    );
    let status = client
        .execute(call("acme", "login.sideways", &good_event, Some("s3cret")))
        .await
        .expect_err("unknown trigger");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("unknown trigger \"login.sideways\"")
    );
    let status = client
        .execute(call(
            "acme",
            "login.post-login",
            "{not json",
            Some("s3cret"),
        ))
        .await
        .expect_err("bad event");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("event_json is not a JSON object")
    );
    let status = client
        .execute(call("acme", "login.post-login", "[1]", Some("s3cret")))
        .await
        .expect_err("not an object");
    assert_eq!(
        status.message(),
        "event_json is not a JSON object: got an array"
    );
    let huge = json!({ "user": { "id": "x".repeat(2 * 1024 * 1024) } }).to_string();
    let status = client
        .execute(call("acme", "login.post-login", &huge, Some("s3cret")))
        .await
        .expect_err("too large");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_answer() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let runner = Runner::start(|_| json!({ "tenants": {} }), &[], "").await;
    let channel = runner.channel().await;
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "actions.runner.v1.Execution".into(),
        })
        .await
        .expect("health answers")
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("stream")
        .expect("a response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer {response:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"actions.runner.v1.Execution"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_flows_file_is_served_within_a_second() {
    let runner = Runner::start(
        |m| {
            let _ = starter(m, "empty");
            json!({ "revision": 1, "tenants": { "acme": { "slots": {} } } })
        },
        &[],
        "",
    )
    .await;
    let mut client = runner.client().await;
    let before = execute(
        &mut client,
        "acme",
        "login.post-login",
        event("a@example.com", Some("gold")),
    )
    .await;
    assert!(before.bindings.is_empty());

    let sha = starter(&runner.modules, "custom-claim");
    let updated = json!({ "revision": 2, "tenants": { "acme": { "slots": { "login.post-login": [binding("b", "custom-claim", &sha, json!({}), false, json!({}))] } } } });
    std::fs::write(&runner.flows_file, updated.to_string()).expect("write");
    let started = std::time::Instant::now();
    loop {
        let after = execute(
            &mut client,
            "acme",
            "login.post-login",
            event("a@example.com", Some("gold")),
        )
        .await;
        if !after.bindings.is_empty() {
            assert_eq!(
                claims(&after),
                json!({ "https://example.com/tier": "gold" })
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the change was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A broken file is refused and the last good flows keep serving.
    std::fs::write(&runner.flows_file, "{ broken").expect("write");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let still = execute(
        &mut client,
        "acme",
        "login.post-login",
        event("a@example.com", Some("gold")),
    )
    .await;
    assert_eq!(still.bindings.len(), 1);
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

type UpdateSender =
    tokio::sync::mpsc::Sender<Result<actions_proto::controlplane::v1::FlowsUpdate, tonic::Status>>;

/// The control plane's side of `RunnerSync`, as issue "Control plane" will
/// serve it from its database: run records stored once per run id and
/// acknowledged; flow updates pushed by the test; modules served by hash.
#[derive(Clone, Default)]
struct RecordSink {
    records: Arc<Mutex<Vec<actions_proto::controlplane::v1::RunRecord>>>,
    watchers: Arc<Mutex<Vec<UpdateSender>>>,
    modules: Arc<Mutex<std::collections::HashMap<String, Vec<u8>>>>,
}

#[tonic::async_trait]
impl actions_proto::controlplane::v1::runner_sync_server::RunnerSync for RecordSink {
    type WatchFlowsStream = tokio_stream::wrappers::ReceiverStream<
        Result<actions_proto::controlplane::v1::FlowsUpdate, tonic::Status>,
    >;
    type PushRunRecordsStream = tokio_stream::Iter<
        std::vec::IntoIter<Result<actions_proto::controlplane::v1::RunRecordAck, tonic::Status>>,
    >;

    async fn watch_flows(
        &self,
        _: tonic::Request<actions_proto::controlplane::v1::WatchFlowsRequest>,
    ) -> Result<tonic::Response<Self::WatchFlowsStream>, tonic::Status> {
        let (sender, receiver) = tokio::sync::mpsc::channel(16);
        self.watchers.lock().expect("lock").push(sender);
        Ok(tonic::Response::new(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        ))
    }

    async fn fetch_module(
        &self,
        request: tonic::Request<actions_proto::controlplane::v1::FetchModuleRequest>,
    ) -> Result<tonic::Response<actions_proto::controlplane::v1::Module>, tonic::Status> {
        let sha256 = request.into_inner().sha256;
        let wasm = self.modules.lock().expect("lock").get(&sha256).cloned();
        match wasm {
            Some(wasm) => Ok(tonic::Response::new(
                actions_proto::controlplane::v1::Module {
                    sha256,
                    plugin_id: actions_plugin::plugin_id().to_owned(),
                    wasm,
                },
            )),
            None => Err(tonic::Status::not_found(format!("no module {sha256}"))),
        }
    }

    async fn push_run_records(
        &self,
        request: tonic::Request<tonic::Streaming<actions_proto::controlplane::v1::RunRecord>>,
    ) -> Result<tonic::Response<Self::PushRunRecordsStream>, tonic::Status> {
        let mut incoming = request.into_inner();
        let mut acks = Vec::new();
        while let Some(record) = incoming.message().await? {
            let mut records = self.records.lock().expect("lock");
            if !records.iter().any(|r| r.run_id == record.run_id) {
                records.push(record.clone());
            }
            acks.push(Ok(actions_proto::controlplane::v1::RunRecordAck {
                run_id: record.run_id,
            }));
        }
        Ok(tonic::Response::new(tokio_stream::iter(acks)))
    }
}

async fn start_sink(port: u16) -> (RecordSink, tokio::sync::oneshot::Sender<()>) {
    let sink = RecordSink::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the control plane port");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service =
        actions_proto::controlplane::v1::runner_sync_server::RunnerSyncServer::new(sink.clone());
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async {
                    let _ = stopped.await;
                },
            )
            .await;
    });
    (sink, stop)
}

/// The `actions-runner` binary, started as an operator would start it.
fn spawn_runner(settings: &Path, env: &[(&str, String)]) -> std::process::Child {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_actions-runner"));
    command
        .arg("--config")
        .arg(settings)
        .env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().expect("runner starts")
}

/// A client of the runner on `port`, once it answers.
async fn connect_when_up(port: u16) -> ExecutionClient<Channel> {
    let started = std::time::Instant::now();
    loop {
        if let Ok(client) = ExecutionClient::connect(format!("http://127.0.0.1:{port}")).await {
            return client;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the runner did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

async fn wait_for_records(
    sink: &RecordSink,
    count: usize,
) -> Vec<actions_proto::controlplane::v1::RunRecord> {
    let started = std::time::Instant::now();
    loop {
        let records = sink.records.lock().expect("lock").clone();
        if records.len() >= count {
            return records;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "only {} of {count} records arrived",
            records.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_records_arrive_after_a_control_plane_outage() {
    let port = free_port();
    let spool = tempfile::tempdir().expect("tempdir");
    let extra = format!(
        "control_plane = \"http://127.0.0.1:{port}\"\n[records]\nspool_dir = \"{}\"\n",
        spool.path().display()
    );
    let runner = Runner::start_with(
        |m| {
            let noisy = inline(m, "export function execute(e: any, api: any) { console.log('key is', e.secrets.api_key, 'for', e.user.email); }");
            json!({ "tenants": { "acme": { "slots": { "login.post-login": [
                { "id": "b", "action_slug": "noisy", "action_version": "1.0.0", "module_sha256": noisy, "secrets": { "api_key": "sk_live_12345" } }
            ] } } } })
        },
        &[],
        "",
        &extra,
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
    let spooled = actions_runner::records::spooled_records(spool.path()).expect("spool");
    assert_eq!(spooled.len(), 5);

    let (sink, stop_sink) = start_sink(port).await;
    let records = wait_for_records(&sink, 5).await;
    let mut received: Vec<_> = records.iter().map(|r| r.run_id.clone()).collect();
    received.sort();
    run_ids.sort();
    assert_eq!(received, run_ids);
    let record = &records[0];
    assert_eq!(
        (
            record.tenant.as_str(),
            record.trigger.as_str(),
            record.decision.as_str()
        ),
        ("acme", "login.post-login", "allow")
    );
    assert_eq!(record.bindings[0].outcome, "allowed");
    assert_eq!(
        record.bindings[0].logs[0].message, "key is [redacted] for a@example.com",
        "secrets are redacted"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        actions_runner::records::spooled_records(spool.path())
            .expect("spool")
            .len(),
        0,
        "acknowledged records leave the spool"
    );
    let _ = stop_sink.send(());
    runner.stop().await;
}

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
    std::fs::write(
        &settings,
        format!(
            "listen = \"127.0.0.1:{runner_port}\"\nflows_file = \"{}\"\nmodules_dir = \"{}\"\ncache_dir = \"{}\"\ncontrol_plane = \"http://127.0.0.1:{control_port}\"\n[records]\nspool_dir = \"{}\"\n",
            flows_file.display(),
            modules.display(),
            cache_dir().display(),
            dir.path().join("spool").display()
        ),
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
            .map(|r| r.run_id.clone())
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
    let mut received: Vec<_> = records.iter().map(|r| r.run_id.clone()).collect();
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
                bindings: vec![cp::Binding {
                    id: "b".into(),
                    action_slug: "custom-claim".into(),
                    action_version: format!("1.0.{revision}"),
                    module_sha256: sha.into(),
                    config_json: config.to_string(),
                    fail_open: false,
                    limits: None,
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

    let extra = format!("control_plane = \"http://127.0.0.1:{port}\"\n");
    let runner = Runner::start_with(|_| json!({ "tenants": {} }), &[], "", &extra).await;
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

/// An OTLP/gRPC collector that keeps what it is sent.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<opentelemetry_proto::tonic::trace::v1::Span>>>,
    metrics: Arc<Mutex<Vec<String>>>,
}

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService
    for Collector
{
    async fn export(
        &self,
        request: tonic::Request<
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
        >,
    ) -> Result<
        tonic::Response<
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse,
        >,
        tonic::Status,
    > {
        let mut spans = self.spans.lock().expect("lock");
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::MetricsService
    for Collector
{
    async fn export(
        &self,
        request: tonic::Request<
            opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest,
        >,
    ) -> Result<
        tonic::Response<
            opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse,
        >,
        tonic::Status,
    > {
        let mut metrics = self.metrics.lock().expect("lock");
        for resource in request.into_inner().resource_metrics {
            for scope in resource.scope_metrics {
                metrics.extend(scope.metrics.into_iter().map(|m| m.name));
            }
        }
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_metrics_reach_an_otlp_collector_under_the_callers_trace() {
    use opentelemetry_proto::tonic::collector::{
        metrics::v1::metrics_service_server::MetricsServiceServer,
        trace::v1::trace_service_server::TraceServiceServer,
    };
    use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let collector_port = listener.local_addr().expect("address").port();
    let serving = collector.clone();
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(serving.clone()))
            .add_service(MetricsServiceServer::new(serving))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let modules = dir.path().join("modules");
    std::fs::create_dir_all(&modules).expect("mkdir");
    let sha = starter(&modules, "custom-claim");
    let flows_file = dir.path().join("flows.json");
    std::fs::write(&flows_file, json!({ "tenants": { "acme": { "slots": { "login.post-login": [binding("b", "custom-claim", &sha, json!({}), false, json!({}))] } } } }).to_string()).expect("write");
    let runner_port = free_port();
    let settings = dir.path().join("runner.toml");
    std::fs::write(
        &settings,
        format!("listen = \"127.0.0.1:{runner_port}\"\nflows_file = \"{}\"\nmodules_dir = \"{}\"\ncache_dir = \"{}\"\n", flows_file.display(), modules.display(), cache_dir().display()),
    )
    .expect("write settings");
    let mut runner = spawn_runner(
        &settings,
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{collector_port}"),
            ),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "300".into()),
        ],
    );
    let mut client = connect_when_up(runner_port).await;
    let started = std::time::Instant::now();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    client
        .execute(ExecuteRequest {
            tenant: "acme".into(),
            trigger: "login.post-login".into(),
            event_json: event("a@example.com", Some("gold")),
            traceparent: format!("00-{trace_id}-{parent_id}-01"),
            tracestate: String::new(),
        })
        .await
        .expect("execute succeeds");

    let (spans, metrics) = loop {
        let spans = collector.spans.lock().expect("lock").clone();
        let metrics = collector.metrics.lock().expect("lock").clone();
        if spans.iter().any(|s| s.name == "binding")
            && spans.iter().any(|s| s.name == "execute")
            && metrics.iter().any(|m| m == "actions.executions")
        {
            break (spans, metrics);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "spans {:?}, metrics {metrics:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    runner.kill().expect("kill");
    runner.wait().expect("reaped");

    let execute = spans
        .iter()
        .find(|s| s.name == "execute")
        .expect("execute span");
    assert_eq!(
        hex::encode(&execute.trace_id),
        trace_id,
        "the caller's trace"
    );
    assert_eq!(
        hex::encode(&execute.parent_span_id),
        parent_id,
        "the caller's span is the parent"
    );
    let binding = spans
        .iter()
        .find(|s| s.name == "binding")
        .expect("binding span");
    assert_eq!(binding.parent_span_id, execute.span_id);
    let attribute = |name: &str| {
        binding
            .attributes
            .iter()
            .find(|kv| kv.key == name)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.clone())
    };
    assert_eq!(
        attribute("action"),
        Some(AnyValue::StringValue("custom-claim".into()))
    );
    assert_eq!(
        attribute("outcome"),
        Some(AnyValue::StringValue("allowed".into()))
    );
    assert!(
        matches!(attribute("fuel"), Some(AnyValue::IntValue(fuel)) if fuel > 0),
        "{:?}",
        binding.attributes
    );
    for name in [
        "actions.executions",
        "actions.execute.duration",
        "actions.binding.outcomes",
        "actions.binding.fuel",
    ] {
        assert!(
            metrics.iter().any(|m| m == name),
            "{name} missing from {metrics:?}"
        );
    }
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
