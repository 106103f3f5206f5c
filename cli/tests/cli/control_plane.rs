//! The control-plane commands against the embedded service: init, test,
//! pack, upload, publish, attach (with limits), flows, trigger through the
//! runner, logs, audit, login and detach, in one developer's loop.

use crate::common::{Embedded, action, action_for, eventually, example, json_of, succeeded};
use serde_json::{Value, json};
use std::process::Command;

#[test]
fn the_developer_loop_against_the_embedded_service() {
    let service = Embedded::start();
    let token = service.tenant("dev");
    let data = &service.data;
    let (server, runner) = (service.server.clone(), service.runner.clone());
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
    let runner_token = service.runner_token.clone();
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
    let published = cli(&[
        "audit",
        "--kind",
        "flow.action_published",
        "--action",
        "custom-claim",
        "--json",
    ]);
    succeeded(&published, "audit --kind --action");
    let events: Vec<Value> = String::from_utf8_lossy(&published.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON event per line"))
        .collect();
    assert!(!events.is_empty(), "custom-claim was published");
    for event in &events {
        assert_eq!(event["kind"], "flow.action_published", "{event}");
        let subject = event["subject"].as_str().expect("subject");
        assert!(subject.starts_with("custom-claim@"), "{event}");
    }

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

    service.stop();
}
