//! The `action` binary, driven as a developer would drive it.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn action(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_action"))
        .args(args)
        .env(
            "ACTIONS_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache"),
        )
        .env("NO_COLOR", "1")
        .output()
        .expect("action runs")
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn example(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(path)
        .display()
        .to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn build_writes_the_module_and_reports_its_hash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out/custom-claim.wasm");
    let output = action(&[
        "build",
        &example("starters/custom-claim"),
        "-o",
        &out.display().to_string(),
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json_of(&output);
    let bytes = std::fs::read(&out).expect("module written");
    assert_eq!(report["size"], json!(bytes.len()));
    assert_eq!(report["output"], json!(out.display().to_string()));
    use sha2::Digest as _;
    assert_eq!(
        report["sha256"],
        json!(hex::encode(sha2::Sha256::digest(&bytes)))
    );
}

#[test]
fn a_compile_error_names_the_place_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = write(
        dir.path(),
        "broken.ts",
        "export function execute(event, api) {\n  return api.access.allow(;\n}\n",
    );
    let out = dir.path().join("broken.wasm");
    let output = action(&["build", &source, "-o", &out.display().to_string(), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    assert_eq!(
        report["location"],
        json!({ "file": "broken.ts", "line": 2, "column": 27 })
    );
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("broken.ts:2:27: syntax error")),
        "{report}"
    );
    assert!(!out.exists(), "nothing half-compiled is written");

    let output = action(&[
        "test",
        &source,
        "--event",
        &example("starters/empty/events/login.json"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.ts:2:27"));
}

#[test]
fn each_starter_gives_its_decision_and_claims() {
    let run = |dir: &str, event: &str, trigger: &str, config: Option<&str>| {
        let mut args = vec![
            "test".to_owned(),
            example(dir),
            "--event".into(),
            example(&format!("{dir}/events/{event}")),
            "--trigger".into(),
            trigger.into(),
            "--json".into(),
        ];
        if let Some(config) = config {
            args.extend(["--config".into(), example(&format!("{dir}/{config}"))]);
        }
        let output = action(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            output.status.success(),
            "{dir} {event}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        json_of(&output)
    };

    let report = run("starters/empty", "login.json", "login.post-login", None);
    assert_eq!(
        (report["decision"].clone(), report["outcome"].clone()),
        (json!("allow"), json!("allowed"))
    );

    let report = run(
        "starters/custom-claim",
        "gold-user.json",
        "login.post-login",
        None,
    );
    assert_eq!(report["decision"], json!("allow"));
    assert_eq!(
        report["access_token_claims"],
        json!({ "https://example.com/tier": "gold" })
    );
    assert_eq!(
        report["id_token_claims"],
        json!({ "https://example.com/tier": "gold" })
    );
    assert_eq!(report["logs"][0]["level"], json!("log"));
    assert_eq!(report["logs"][0]["message"], json!("tier is gold"));
    assert!(report["fuel"].as_u64().is_some_and(|f| f > 0));
    assert!(report["duration_us"].as_u64().is_some());

    let report = run(
        "starters/domain-allowlist",
        "corporate.json",
        "login.pre-credential-check",
        Some("config.json"),
    );
    assert_eq!(report["decision"], json!("allow"));
    let report = run(
        "starters/domain-allowlist",
        "outsider.json",
        "login.pre-credential-check",
        Some("config.json"),
    );
    assert_eq!(report["decision"], json!("deny"));
    assert_eq!(
        report["reason"],
        json!("Sign-in restricted. Use an email at one of: example.com, example.org.")
    );

    let report = run(
        "starters/webhook-emit",
        "signup.json",
        "registration.post-create",
        Some("config.json"),
    );
    assert_eq!(report["decision"], json!("allow"));
    assert!(
        report["logs"].to_string().contains("webhook failed"),
        "{report}"
    );
}

#[test]
fn every_example_passes_its_test_cases() {
    for group in ["starters", "patterns"] {
        for entry in std::fs::read_dir(example(group)).expect("examples") {
            let dir: PathBuf = entry.expect("entry").path();
            let output = action(&["test", &dir.display().to_string(), "--json"]);
            let report = json_of(&output);
            assert!(output.status.success(), "{}: {report:#}", dir.display());
            assert_eq!(report["failed"], json!(0));
            assert!(report["passed"].as_u64().is_some_and(|n| n >= 1));
        }
    }
}

#[test]
fn a_failing_case_fails_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("tests")).expect("mkdir");
    write(
        dir.path(),
        "src/index.ts",
        "export function execute(e: any, api: any) { api.access.deny('nope'); }",
    );
    write(
        dir.path(),
        "tests/expects-allow.json",
        r#"{ "event": { "user": { "id": "u" } }, "expect": { "decision": "allow" } }"#,
    );
    let output = action(&["test", &dir.path().display().to_string()]);
    assert_eq!(output.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("FAIL  expects-allow")
            && stdout.contains(r#"decision: expected "allow", got "deny""#),
        "{stdout}"
    );
}

#[test]
fn hostile_actions_end_in_their_own_outcomes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let event = example("starters/empty/events/login.json");
    for (source, outcome) in [
        (
            "export function execute() { while (true) {} }",
            "out_of_fuel",
        ),
        (
            "export function execute() { const a: Uint8Array[] = []; while (true) a.push(new Uint8Array(1 << 20)); }",
            "memory_limit_exceeded",
        ),
        (
            "export function execute() { const l = 'x'.repeat(1024); for (let i = 0; i < 10240; i++) console.log(l); }",
            "log_limit_exceeded",
        ),
    ] {
        let file = write(dir.path(), &format!("{outcome}.ts"), source);
        let output = action(&["test", &file, "--event", &event, "--json"]);
        assert_eq!(output.status.code(), Some(3), "{outcome}");
        let report = json_of(&output);
        assert_eq!(report["outcome"], json!(outcome));
        assert_eq!(
            report["decision"],
            json!("deny"),
            "a run without a decision fails closed"
        );
    }
    let file = write(
        dir.path(),
        "slow.ts",
        "export function execute() { while (true) {} }",
    );
    let output = action(&[
        "test",
        &file,
        "--event",
        &event,
        "--json",
        "--fuel",
        "1000000000000",
        "--deadline-ms",
        "150",
    ]);
    assert_eq!(json_of(&output)["outcome"], json!("deadline_exceeded"));
}

#[test]
fn an_unknown_trigger_is_a_usage_error() {
    let output = action(&[
        "test",
        &example("starters/empty"),
        "--trigger",
        "login.after-coffee",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unknown trigger \"login.after-coffee\"")
    );
}
