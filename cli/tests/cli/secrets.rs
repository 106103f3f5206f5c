//! `action secret` and `action test --secrets` against the embedded
//! service: values go in on standard input and never come out.

use crate::common::{action, action_for, eventually, json_of, succeeded, write};
use actions_test_support::auth;
use serde_json::Value;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const VALUE: &str = "sk_live_cli_0a1b2c3d4e";

const SOURCE: &str = r#"import type { Api, Event } from '../types/actions';
import type { Secrets } from '../types/secrets';

export async function execute(event: Event<{}, Secrets>, api: Api) {
  console.log('key', event.secrets.API_KEY);
  api.accessToken.setCustomClaim('https://x/reversed', event.secrets.API_KEY.split('').reverse().join(''));
}
"#;

fn reversed(text: &str) -> String {
    text.chars().rev().collect()
}

/// `action secret set` with `value` on standard input.
fn set_secret(
    server: &str,
    token: &str,
    slug: &str,
    name: &str,
    value: &str,
) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_action"))
        .args(["secret", "set", slug, name, "--json"])
        .env("ACTIONS_SERVER", server)
        .env("ACTIONS_TOKEN", token)
        .env(
            "XDG_CONFIG_HOME",
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-profile"),
        )
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("action runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{value}\n").as_bytes())
        .expect("write the value");
    child.wait_with_output().expect("action ends")
}

#[test]
fn secrets_go_in_on_standard_input_and_never_come_out() {
    use actions_proto::controlplane::v1::{self as pb, tenants_client::TenantsClient};
    let data = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let service = runtime
        .block_on(actions_standalone::start(&actions_standalone::Options {
            data_dir: data.path().join("service"),
            control_plane_listen: "127.0.0.1:0".into(),
            runner_listen: "127.0.0.1:0".into(),
            demo: false,
            starters: PathBuf::new(),
            console_dir: None,
            replay_data: true,
        }))
        .expect("the embedded service starts");
    let server = format!("http://{}", service.control_plane);
    let operator = service.secrets.operator_token.clone();
    let token = runtime.block_on(async {
        let mut tenants = TenantsClient::connect(server.clone())
            .await
            .expect("connect");
        tenants
            .create_tenant(auth(
                pb::CreateTenantRequest {
                    id: "dev".into(),
                    name: "Dev".into(),
                },
                &operator,
            ))
            .await
            .expect("tenant");
        tenants
            .create_token(auth(
                pb::CreateTokenRequest {
                    tenant: "dev".into(),
                    name: "laptop".into(),
                },
                &operator,
            ))
            .await
            .expect("token")
            .into_inner()
            .secret
    });
    let cli = |args: &[&str]| action_for(&server, &token, args);

    // A package that declares a secret: init writes its type, build keeps it.
    let dir = data.path().join("crm");
    let dir_text = dir.display().to_string();
    succeeded(
        &cli(&[
            "init",
            &dir_text,
            "--starter",
            "custom-claim",
            "--slug",
            "crm",
        ]),
        "init",
    );
    let manifest_path = dir.join("action.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("manifest"))
            .expect("JSON");
    manifest["secrets"] =
        serde_json::json!([{ "name": "API_KEY", "description": "the CRM's key" }]);
    std::fs::write(&manifest_path, manifest.to_string()).expect("write the manifest");
    std::fs::write(dir.join("src/index.ts"), SOURCE).expect("write the source");
    std::fs::remove_dir_all(dir.join("tests")).ok();
    let event = write(
        data.path(),
        "event.json",
        r#"{"user":{"id":"u1","email":"a@b.test"}}"#,
    );
    let secrets_file = write(
        data.path(),
        "secrets.json",
        r#"{"API_KEY":"local-test-value"}"#,
    );
    let local = cli(&[
        "test",
        &dir_text,
        "--event",
        &event,
        "--secrets",
        &secrets_file,
        "--json",
    ]);
    succeeded(&local, "test with --secrets");
    assert_eq!(
        json_of(&local)["access_token_claims"]["https://x/reversed"],
        reversed("local-test-value").as_str()
    );
    // Redacted as the runner redacts: the log line shows no value.
    let local_logs = json_of(&local)["logs"].to_string();
    assert!(local_logs.contains("[redacted]"), "{local_logs}");
    assert!(!String::from_utf8_lossy(&local.stdout).contains("local-test-value"));
    let types = std::fs::read_to_string(dir.join("types/secrets.d.ts")).expect("secrets.d.ts");
    assert!(
        types.contains("/** the CRM's key */\n  readonly API_KEY: string;"),
        "{types}"
    );
    let not_text = write(data.path(), "bad-secrets.json", r#"{"API_KEY": 7}"#);
    let refused = cli(&["test", &dir_text, "--event", &event, "--secrets", &not_text]);
    assert_eq!(refused.status.code(), Some(1));

    succeeded(&cli(&["upload", &dir_text]), "upload");
    // Publishing before the value is set is refused, naming the secret.
    let early = cli(&["publish", "crm"]);
    assert_eq!(early.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&early.stderr).contains("API_KEY"));

    let set = set_secret(&server, &token, "crm", "API_KEY", VALUE);
    succeeded(&set, "secret set");
    assert_eq!(json_of(&set)["set"], true);
    assert_eq!(json_of(&set)["declared"], true);
    let listed = cli(&["secret", "list", "crm", "--json"]);
    succeeded(&listed, "secret list");
    assert_eq!(json_of(&listed)[0]["name"], "API_KEY");
    assert_eq!(json_of(&listed)[0]["set_by"], "laptop");
    let text = cli(&["secret", "list", "crm"]);
    succeeded(&text, "secret list as text");
    assert!(String::from_utf8_lossy(&text.stdout).contains("API_KEY  set by laptop"));
    let empty = set_secret(&server, &token, "crm", "API_KEY", "");
    assert_eq!(empty.status.code(), Some(1));
    let unknown = set_secret(&server, &token, "no-such-action", "API_KEY", VALUE);
    assert_eq!(unknown.status.code(), Some(1));

    succeeded(&cli(&["publish", "crm"]), "publish");
    succeeded(&cli(&["attach", "login", "post-login", "crm"]), "attach");
    let runner = format!("http://{}", service.runner);
    let runner_token = service.secrets.runner_token.clone();
    let answer = eventually("the binding runs with the secret", || {
        let triggered = action(&[
            "trigger",
            "login.post-login",
            "--tenant",
            "dev",
            "--server",
            &runner,
            "--token",
            &runner_token,
            "--event",
            &event,
            "--json",
        ]);
        let value = json_of(&triggered);
        (value["access_token_claims"]["https://x/reversed"] == reversed(VALUE).as_str())
            .then_some((triggered, value))
    });
    let (triggered, _) = answer;
    // No command prints the value: not the trigger's answer, not the logs,
    // not the audit trail.
    let logs = eventually("the run is recorded", || {
        let logs = cli(&["logs", "--json"]);
        logs.status.success().then_some(logs)
    });
    let audit = cli(&["audit", "--json"]);
    for output in [&set, &listed, &text, &triggered, &logs, &audit] {
        for stream in [&output.stdout, &output.stderr] {
            assert!(!String::from_utf8_lossy(stream).contains(VALUE));
        }
    }
    let removed = cli(&["secret", "remove", "crm", "API_KEY", "--json"]);
    // The live version still reads it: refused until a version without it is live.
    assert_eq!(removed.status.code(), Some(1));
    runtime.block_on(service.stop()).expect("stops");
}
