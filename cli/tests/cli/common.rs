//! What the tests share: the `action` binary run with a private plugin
//! cache (and, for the control-plane commands, a server and a token), its
//! JSON output, the examples, and waiting for what happens in the
//! background.

use actions_test_support::{cache_dir, examples};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

pub fn action(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_action"))
        .args(args)
        .env("ACTIONS_CACHE_DIR", cache_dir!())
        .env("NO_COLOR", "1")
        .output()
        .expect("action runs")
}

pub fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub fn example(path: &str) -> String {
    examples().join(path).display().to_string()
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// `action` with the control plane's address and a tenant token.
pub fn action_for(server: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_action"))
        .args(args)
        .env("ACTIONS_SERVER", server)
        .env("ACTIONS_TOKEN", token)
        .env_remove("ACTIONS_OPERATOR_TOKEN")
        // No profile of the machine's user leaks in.
        .env(
            "XDG_CONFIG_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-profile"),
        )
        .env("ACTIONS_CACHE_DIR", cache_dir!())
        .env("NO_COLOR", "1")
        .output()
        .expect("action runs")
}

pub fn succeeded(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Repeats `attempt` until it returns something: changes reach the runner
/// and run records reach the control plane in the background.
pub fn eventually<T>(what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(found) = attempt() {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `action` with the control plane's address and only the operator token
/// (`ACTIONS_OPERATOR_TOKEN`; no tenant token anywhere).
pub fn admin_for(server: &str, operator: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_action"))
        .args(args)
        .env("ACTIONS_SERVER", server)
        .env("ACTIONS_OPERATOR_TOKEN", operator)
        .env_remove("ACTIONS_TOKEN")
        .env(
            "XDG_CONFIG_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-profile"),
        )
        .env("ACTIONS_CACHE_DIR", cache_dir!())
        .env("NO_COLOR", "1")
        .output()
        .expect("action runs")
}

/// A refusal under `--json`: status 1 and `{"error": "...", "code": ...}`
/// on standard output; returns the code (`null` for an error that is not
/// the control plane's).
pub fn refusal(output: &Output, what: &str) -> Value {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{what}: status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let answer = json_of(output);
    assert!(
        answer["error"].is_string(),
        "{what}: no message in {answer}"
    );
    answer["code"].clone()
}

/// The embedded default (control plane and runner in one process) on free
/// loopback ports, in a folder of its own, with tenants made for a test.
pub struct Embedded {
    pub runtime: tokio::runtime::Runtime,
    service: actions_standalone::Running,
    pub server: String,
    pub runner: String,
    pub operator: String,
    pub runner_token: String,
    pub data: tempfile::TempDir,
}

impl Embedded {
    pub fn start() -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let service = runtime
            .block_on(actions_standalone::start(&actions_standalone::Options {
                data_dir: data.path().join("service"),
                control_plane_listen: "127.0.0.1:0".into(),
                runner_listen: "127.0.0.1:0".into(),
                demo: false,
                starters: std::path::PathBuf::new(),
                console_dir: None,
                replay_data: true,
            }))
            .expect("the embedded service starts");
        Self {
            server: format!("http://{}", service.control_plane),
            runner: format!("http://{}", service.runner),
            operator: service.secrets.operator_token.clone(),
            runner_token: service.secrets.runner_token.clone(),
            runtime,
            service,
            data,
        }
    }

    /// Creates a tenant with the gRPC API itself (not the CLI under test)
    /// and returns a token of it.
    pub fn tenant(&self, id: &str) -> String {
        use actions_proto::controlplane::v1::{self as pb, tenants_client::TenantsClient};
        use actions_test_support::auth;
        self.runtime.block_on(async {
            let mut tenants = TenantsClient::connect(self.server.clone())
                .await
                .expect("connect");
            tenants
                .create_tenant(auth(
                    pb::CreateTenantRequest {
                        id: id.into(),
                        name: id.into(),
                    },
                    &self.operator,
                ))
                .await
                .expect("tenant");
            tenants
                .create_token(auth(
                    pb::CreateTokenRequest {
                        tenant: id.into(),
                        name: "test".into(),
                    },
                    &self.operator,
                ))
                .await
                .expect("token")
                .into_inner()
                .secret
        })
    }

    pub fn stop(self) {
        self.runtime
            .block_on(self.service.stop())
            .expect("the service stops");
    }
}
