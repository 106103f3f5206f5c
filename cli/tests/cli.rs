//! The `action` binary, driven as a developer would drive it.

use actions_proto::manifest::Manifest;
use actions_test_support::{auth, cache_dir, examples};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn action(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_action"))
        .args(args)
        .env("ACTIONS_CACHE_DIR", cache_dir!())
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
    examples().join(path).display().to_string()
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

/// `action` with the control plane's address and a tenant token.
fn action_for(server: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_action"))
        .args(args)
        .env("ACTIONS_SERVER", server)
        .env("ACTIONS_TOKEN", token)
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

fn succeeded(output: &Output, what: &str) {
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
fn eventually<T>(what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
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

#[test]
fn the_developer_loop_against_the_embedded_service() {
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
        }))
        .expect("the embedded service starts");
    let server = format!("http://{}", service.control_plane);
    let runner = format!("http://{}", service.runner);
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
        let token = tenants
            .create_token(auth(
                pb::CreateTokenRequest {
                    tenant: "dev".into(),
                    name: "laptop".into(),
                },
                &operator,
            ))
            .await
            .expect("token");
        token.into_inner().secret
    });
    let cli = |args: &[&str]| action_for(&server, &token, args);

    let no_token = action_for(&server, "", &["flows"]);
    assert_eq!(no_token.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("ACTIONS_TOKEN"));

    // Two packages from starters; pack + upload a tarball; upload a folder.
    let allowlist_dir = data.path().join("allowlist").display().to_string();
    let claim_dir = data.path().join("tier-claim").display().to_string();
    for (dir, starter, slug) in [
        (&allowlist_dir, "domain-allowlist", "domain-allowlist"),
        (&claim_dir, "custom-claim", "custom-claim"),
    ] {
        succeeded(
            &cli(&["init", dir, "--starter", starter, "--slug", slug]),
            "init",
        );
        succeeded(&cli(&["test", dir]), "test the new package");
    }
    let tarball = data.path().join("allowlist.tar.gz");
    let packed = cli(&[
        "pack",
        &allowlist_dir,
        "-o",
        &tarball.display().to_string(),
        "--json",
    ]);
    succeeded(&packed, "pack");
    assert!(
        json_of(&packed)["files"]
            .as_array()
            .expect("files")
            .contains(&json!("src/email.ts"))
    );
    let uploaded = cli(&["upload", &tarball.display().to_string(), "--json"]);
    succeeded(&uploaded, "upload the tarball");
    assert_eq!(json_of(&uploaded)["version"], "0.1.0");
    assert_eq!(json_of(&uploaded)["created"], true);
    succeeded(&cli(&["upload", &claim_dir]), "upload the folder");

    succeeded(&cli(&["publish", "domain-allowlist"]), "publish");
    succeeded(
        &cli(&["publish", "custom-claim", "--version", "0.1.0"]),
        "publish a given version",
    );
    let attached = cli(&[
        "attach",
        "login",
        "pre-credential-check",
        "domain-allowlist",
        "--config",
        &example("starters/domain-allowlist/config.json"),
        "--json",
    ]);
    succeeded(&attached, "attach");
    let allowlist_binding = json_of(&attached)["id"].as_str().expect("id").to_owned();
    let too_much = cli(&[
        "attach",
        "login",
        "login.post-login",
        "custom-claim",
        "--fuel",
        "99000000000",
    ]);
    assert_eq!(too_much.status.code(), Some(1));
    let refusal = String::from_utf8_lossy(&too_much.stderr).into_owned();
    assert!(
        refusal.contains("InvalidArgument")
            && refusal.contains("fuel 99000000000 is above the ceiling 20000000000"),
        "{refusal}"
    );
    succeeded(
        &cli(&[
            "attach",
            "login",
            "login.post-login",
            "custom-claim",
            "--fuel",
            "5000000000",
            "--memory-mib",
            "128",
        ]),
        "attach with limits",
    );
    let wrong_flow = cli(&["attach", "registration", "login.post-login", "custom-claim"]);
    assert_eq!(wrong_flow.status.code(), Some(1));
    let flows = cli(&["flows", "--json"]);
    succeeded(&flows, "flows");
    let text = String::from_utf8_lossy(&flows.stdout).into_owned();
    assert!(
        text.contains("domain-allowlist") && text.contains("custom-claim"),
        "{text}"
    );
    let limits: Vec<(String, Value)> = json_of(&flows)
        .as_array()
        .expect("flows")
        .iter()
        .flat_map(|f| f["slots"].as_array().expect("slots").clone())
        .flat_map(|s| s["bindings"].as_array().expect("bindings").clone())
        .map(|b| {
            (
                b["action"].as_str().expect("action").to_owned(),
                b["limits"].clone(),
            )
        })
        .collect();
    assert_eq!(
        limits,
        [
            ("domain-allowlist".to_owned(), Value::Null),
            (
                "custom-claim".to_owned(),
                json!({ "fuel": 5_000_000_000u64, "memory_bytes": 128 * 1024 * 1024 })
            ),
        ]
    );
    let listed = String::from_utf8_lossy(&cli(&["flows"]).stdout).into_owned();
    assert!(
        listed.contains("limits: fuel=5000000000 memory_bytes=134217728"),
        "{listed}"
    );

    // An auth backend's logins, through the runner.
    let runner_token = service.secrets.runner_token.clone();
    let trigger = |slot: &str, event: &str| {
        action(&[
            "trigger",
            slot,
            "--tenant",
            "dev",
            "--server",
            &runner,
            "--token",
            &runner_token,
            "--event",
            &example(event),
            "--json",
        ])
    };
    let denied = eventually("the allowlist reaching the runner", || {
        let out = trigger(
            "login.pre-credential-check",
            "starters/domain-allowlist/events/outsider.json",
        );
        let answer = json_of(&out);
        (answer["bindings"].as_array().is_some_and(|b| !b.is_empty())).then_some(answer)
    });
    assert_eq!(denied["decision"], "deny");
    let allowed = eventually("the claim reaching the runner", || {
        let answer = json_of(&trigger(
            "login.post-login",
            "starters/custom-claim/events/gold-user.json",
        ));
        (answer["bindings"].as_array().is_some_and(|b| !b.is_empty())).then_some(answer)
    });
    assert_eq!(allowed["decision"], "allow");
    assert_eq!(
        allowed["access_token_claims"]["https://example.com/tier"],
        "gold"
    );

    // The run's console output, from the control plane.
    let logged = eventually("the run's logs", || {
        let out = cli(&["logs", "--action", "custom-claim", "--json"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("tier is gold").then_some(text)
    });
    assert!(
        logged.contains(allowed["run_id"].as_str().expect("run id")),
        "{logged}"
    );
    let one = cli(&["logs", "--run", allowed["run_id"].as_str().expect("run id")]);
    succeeded(&one, "logs --run");
    assert!(String::from_utf8_lossy(&one.stdout).contains("[log] tier is gold"));
    let audit = cli(&["audit", "--json"]);
    succeeded(&audit, "audit");
    assert!(String::from_utf8_lossy(&audit.stdout).contains("flow.action_published"));

    // `action login` keeps the server and token for later commands.
    let config_home = data.path().join("config");
    let without_env = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_action"))
            .args(args)
            .env_remove("ACTIONS_SERVER")
            .env_remove("ACTIONS_TOKEN")
            .env("XDG_CONFIG_HOME", &config_home)
            .output()
            .expect("action runs")
    };
    let bad_login = without_env(&["login", "--server", &server, "--token", "act_wrong"]);
    assert_eq!(
        bad_login.status.code(),
        Some(1),
        "a wrong token is not kept"
    );
    assert!(!config_home.join("actions/profile.toml").exists());
    succeeded(
        &without_env(&["login", "--server", &server, "--token", &token]),
        "login",
    );
    let listed = without_env(&["flows", "--json"]);
    succeeded(&listed, "flows with the profile");
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&allowlist_binding));

    succeeded(&cli(&["detach", &allowlist_binding]), "detach");
    let after = String::from_utf8_lossy(&cli(&["flows"]).stdout).into_owned();
    assert!(!after.contains(&allowlist_binding), "{after}");

    runtime.block_on(service.stop()).expect("the service stops");
}

#[test]
fn init_gives_a_ready_package_for_every_starter() {
    let dir = tempfile::tempdir().expect("temp dir");
    for starter in ["empty", "domain-allowlist", "webhook-emit", "custom-claim"] {
        let package = dir.path().join(format!("My {starter}"));
        let at = package.display().to_string();
        let created = action(&["init", &at, "--starter", starter]);
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        for file in [
            "action.json",
            "src/index.ts",
            "types/actions.d.ts",
            "tsconfig.json",
            "README.md",
        ] {
            assert!(package.join(file).is_file(), "{starter}: no {file}");
        }
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(package.join("action.json")).expect("manifest"))
                .expect("JSON");
        assert_eq!(manifest["slug"], format!("my-{starter}"));
        let typed = Manifest::load(&package).expect("the written manifest is valid");
        assert_eq!(typed.slug, format!("my-{starter}"));
        assert_eq!(typed.name, format!("My {starter}"));
        let index = std::fs::read_to_string(package.join("src/index.ts")).expect("index");
        assert!(index.contains("from '../types/actions'"), "{index}");
        let tested = action(&["test", &at]);
        assert!(
            tested.status.success(),
            "{starter}: {}{}",
            String::from_utf8_lossy(&tested.stdout),
            String::from_utf8_lossy(&tested.stderr)
        );
        assert!(action(&["build", &at, "--json"]).status.success());
    }
    let again = action(&["init", &dir.path().join("My empty").display().to_string()]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "init refuses a folder that is not empty"
    );
}

#[test]
fn init_refuses_a_slug_the_control_plane_would_refuse() {
    let dir = tempfile::tempdir().expect("temp dir");
    let package = dir.path().join("pkg");
    let refused = action(&[
        "init",
        &package.display().to_string(),
        "--slug",
        "Not A Slug",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(!package.exists(), "nothing is written");
}

#[test]
fn pack_checks_the_manifest_first_and_names_what_is_wrong() {
    let dir = tempfile::tempdir().expect("temp dir");
    let package = dir.path().join("pkg");
    let at = package.display().to_string();
    let manifest_path = package.join("action.json");
    assert!(action(&["init", &at]).status.success());
    let good: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("read")).expect("JSON");
    let output = dir.path().join("pkg.tar.gz");
    let pack = || action(&["pack", &at, "-o", &output.display().to_string()]);
    for (field, value) in [
        ("version", json!("one")),
        ("triggers", json!(["login.after-coffee"])),
        ("slug", json!("Not A Slug")),
        ("config_schema", json!("object")),
        ("trigger", json!(["login.post-login"])),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        std::fs::write(&manifest_path, bad.to_string()).expect("write");
        let refused = pack();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "{field}: {stderr}");
        assert!(
            stderr.contains(&manifest_path.display().to_string()) && stderr.contains(field),
            "{field}: the error names the file and the field: {stderr}"
        );
        assert!(!output.exists(), "{field}: nothing is packed");
    }
    std::fs::remove_file(&manifest_path).expect("remove");
    assert_eq!(pack().status.code(), Some(1), "no manifest");
    std::fs::write(&manifest_path, good.to_string()).expect("write");
    assert!(pack().status.success(), "the original manifest packs");
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
