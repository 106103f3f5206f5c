//! `action test` in the runner's own sandbox: the starters' decisions and
//! claims, every example's test cases, a failing case, hostile Actions and
//! their outcomes, an unknown trigger, and `--watch`.

use crate::common::{action, example, json_of, write};
use actions_test_support::cache_dir;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

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

#[test]
fn test_watch_runs_again_when_a_file_changes() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().expect("temp dir");
    let package = dir.path().join("watched");
    let at = package.display().to_string();
    assert!(
        action(&["init", &at, "--starter", "custom-claim"])
            .status
            .success()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_action"))
        .args(["test", &at, "--watch"])
        .env("ACTIONS_CACHE_DIR", cache_dir!())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("action test --watch starts");
    let (lines, received) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let wait_for = |wanted: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match received.recv_timeout(left) {
                Ok(line) if line.contains(wanted) => return,
                Ok(_) => {}
                Err(_) => panic!("--watch never printed {wanted:?}"),
            }
        }
    };
    wait_for("2 passed, 0 failed");
    // Break the claim: both cases now fail, and --watch says so unasked.
    let index = package.join("src/index.ts");
    let source = std::fs::read_to_string(&index).expect("index");
    std::fs::write(
        &index,
        source
            .replace("?? 'free'", "?? 'none'")
            .replace("tier);", "'broken');"),
    )
    .expect("edit");
    wait_for("0 passed, 2 failed");
    child.kill().expect("stop --watch");
    let _ = child.wait();
}
