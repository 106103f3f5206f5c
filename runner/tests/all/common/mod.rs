//! What the runner's tests share: one compiler and modules compiled by it,
//! a runner serving in this process on a real socket, the `actions-runner`
//! binary as a child process, events and calls, and an HTTP server on
//! loopback for `api.fetch` and webhooks.

pub mod record_sink;

use actions_compiler::{Compiler, SourcePackage};
use actions_proto::runner::v1::{
    ExecuteRequest, ExecuteResponse, execution_client::ExecutionClient,
};
use actions_runner::execution::serve;
use actions_runner::settings::RunnerSettings;
use actions_runner::state::RunnerState;
use actions_test_support::{LoopbackHttp, cache_dir, examples};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;
use tonic::transport::Channel;

/// One compiler for the whole test binary, on the shared plugin cache.
pub static COMPILER: LazyLock<Compiler> =
    LazyLock::new(|| Compiler::new(Some(&cache_dir!())).expect("compiler starts"));

/// Compiles a package into `modules`, returning its hash.
pub fn compile_into(modules: &Path, package: &SourcePackage) -> String {
    let compiled = COMPILER.compile(package).expect("compiles");
    std::fs::write(
        modules.join(format!("{}.wasm", compiled.sha256)),
        &compiled.wasm,
    )
    .expect("write module");
    compiled.sha256
}

pub fn starter(modules: &Path, name: &str) -> String {
    compile_into(
        modules,
        &SourcePackage::load(&examples().join("starters").join(name)).expect("loads"),
    )
}

pub fn inline(modules: &Path, source: &str) -> String {
    compile_into(
        modules,
        &SourcePackage::single("index.ts", source).expect("package"),
    )
}

/// A runner serving in this process on a real socket, with its settings,
/// flows file and modules in a folder of its own.
pub struct Runner {
    pub address: SocketAddr,
    pub flows_file: PathBuf,
    pub modules: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Runner {
    pub async fn start(
        flows: impl FnOnce(&Path) -> Value,
        allow_cidrs: &[&str],
        token: &str,
    ) -> Runner {
        Self::start_with(flows, allow_cidrs, token, |_| {}).await
    }

    /// `adjust` changes the settings after the test's defaults are set.
    pub async fn start_with(
        flows: impl FnOnce(&Path) -> Value,
        allow_cidrs: &[&str],
        token: &str,
        adjust: impl FnOnce(&mut RunnerSettings),
    ) -> Runner {
        let dir = tempfile::tempdir().expect("tempdir");
        let modules = dir.path().join("modules");
        std::fs::create_dir_all(&modules).expect("mkdir");
        let flows_file = dir.path().join("flows.json");
        std::fs::write(&flows_file, flows(&modules).to_string()).expect("write flows");
        let mut settings = RunnerSettings::new(&modules);
        settings.token = token.into();
        settings.insecure_no_auth = token.is_empty();
        settings.flows_file = Some(flows_file.clone());
        settings.cache_dir = Some(cache_dir!());
        settings.max_concurrent_runs = 32;
        settings.execute_budget_ms = 5000;
        settings.fetch.allow_cidrs = allow_cidrs.iter().map(|c| (*c).to_owned()).collect();
        adjust(&mut settings);
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

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .expect("uri")
            .connect()
            .await
            .expect("connects")
    }

    pub async fn client(&self) -> ExecutionClient<Channel> {
        ExecutionClient::new(self.channel().await)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.expect("server task");
        }
    }
}

/// The event the sandbox tests run with: Ada, a gold-tier user.
pub fn sandbox_event() -> Value {
    json!({
        "user": { "id": "u_1", "email": "ada@example.com", "app_metadata": { "tier": "gold" } },
        "client": { "id": "c_1", "metadata": {} }
    })
}

pub fn event(email: &str, tier: Option<&str>) -> String {
    json!({
        "user": { "id": "u_1", "email": email, "name": "Ada", "app_metadata": tier.map_or(json!({}), |t| json!({ "tier": t })) },
        "client": { "id": "c_1", "metadata": {} }
    })
    .to_string()
}

pub async fn execute(
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

pub fn claims(response: &ExecuteResponse) -> Value {
    serde_json::from_str(&response.access_token_claims_json).expect("claims are JSON")
}

pub fn binding(
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

/// An HTTP/1.1 server on loopback, one route per path, that records what it
/// was sent: `/redirect-to-metadata` redirects to the cloud metadata
/// address, `/big` answers 2 MiB, anything else a small JSON body.
pub async fn local_http() -> LoopbackHttp {
    LoopbackHttp::start(|request| {
        let path = request.split_whitespace().nth(1).unwrap_or("/");
        let (status, headers, body) = match path {
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
        format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    })
    .await
}

/// The `actions-runner` binary, started as an operator would start it.
pub fn spawn_runner(settings: &Path, env: &[(&str, String)]) -> std::process::Child {
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
pub async fn connect_when_up(port: u16) -> ExecutionClient<Channel> {
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
