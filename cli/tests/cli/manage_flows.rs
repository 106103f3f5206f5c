//! The binding and run commands against the embedded service: move,
//! update, test-slot, test-version, runs and stats, as text and as JSON,
//! with their refusals told by status and code.

use crate::common::{
    Embedded, action, action_for, eventually, example, json_of, refusal, succeeded, write,
};
use serde_json::{Value, json};

#[test]
fn bindings_are_moved_updated_tested_and_their_runs_listed() {
    let service = Embedded::start();
    let token = service.tenant("acme");
    let other = service.tenant("other");
    let cli = |args: &[&str]| action_for(&service.server, &token, args);
    let theirs = |args: &[&str]| action_for(&service.server, &other, args);
    let dir = |name: &str| service.data.path().join(name).display().to_string();

    let mut ids = Vec::new();
    for (starter, slug) in [("custom-claim", "custom-claim"), ("empty", "noop")] {
        let package = dir(slug);
        succeeded(
            &cli(&["init", &package, "--starter", starter, "--slug", slug]),
            "init",
        );
        succeeded(&cli(&["upload", &package]), "upload");
        succeeded(&cli(&["publish", slug]), "publish");
        let attached = cli(&["attach", "login", "post-login", slug, "--json"]);
        succeeded(&attached, "attach");
        ids.push(json_of(&attached)["id"].as_str().expect("id").to_owned());
    }
    let (claim, noop) = (ids[0].clone(), ids[1].clone());

    // move: the second binding first.
    let moved = cli(&["move", &noop, "--position", "0", "--json"]);
    succeeded(&moved, "move");
    assert_eq!(json_of(&moved)["position"], 0);
    assert_eq!(json_of(&moved)["action"], "noop");
    let moved = cli(&["move", &noop, "--position", "1"]);
    succeeded(&moved, "move as text");
    assert!(String::from_utf8_lossy(&moved.stdout).contains("position 1"));

    // update: the failure policy, the config, the limits; what is not
    // given stays.
    let updated = cli(&[
        "update",
        &claim,
        "--fail-open",
        "--fuel",
        "5000000000",
        "--json",
    ]);
    succeeded(&updated, "update");
    let updated = json_of(&updated);
    assert_eq!(updated["fail_open"], true);
    assert_eq!(updated["limits"], json!({ "fuel": 5_000_000_000u64 }));
    let config = write(
        service.data.path(),
        "claim-config.json",
        r#"{"claim": "https://example.com/level"}"#,
    );
    let updated = cli(&["update", &claim, "--config", &config, "--json"]);
    succeeded(&updated, "update the config");
    let updated = json_of(&updated);
    assert_eq!(
        updated["config"],
        json!({ "claim": "https://example.com/level" })
    );
    assert_eq!(updated["fail_open"], true, "unchanged");
    assert_eq!(
        updated["limits"],
        json!({ "fuel": 5_000_000_000u64 }),
        "unchanged"
    );
    let updated = cli(&["update", &claim, "--fail-closed", "--default-limits"]);
    succeeded(&updated, "update as text");
    let text = String::from_utf8_lossy(&updated.stdout).into_owned();
    assert!(
        text.contains("fail-closed") && text.contains("limits: the runner's defaults"),
        "{text}"
    );
    // Nothing to change is a usage error; so is a malformed flag.
    assert_eq!(cli(&["update", &claim]).status.code(), Some(2));
    assert_eq!(
        cli(&["move", &claim, "--position", "first"]).status.code(),
        Some(2)
    );
    let misfit = write(service.data.path(), "misfit.json", r#"{"nope": 1}"#);
    let refused = cli(&["update", &claim, "--config", &misfit, "--json"]);
    assert_eq!(
        refusal(&refused, "a config the schema refuses"),
        "FAILED_PRECONDITION"
    );
    let refused = cli(&["update", &claim, "--fuel", "99000000000", "--json"]);
    assert_eq!(
        refusal(&refused, "limits above the ceiling"),
        "INVALID_ARGUMENT"
    );
    let refused = cli(&["update", &claim, "--major", "7", "--json"]);
    assert_ne!(
        refusal(&refused, "a major without a live version"),
        Value::Null
    );
    for args in [
        &["move", "bnd_nope", "--position", "0", "--json"][..],
        &["update", "bnd_nope", "--fail-open", "--json"],
    ] {
        assert_eq!(
            refusal(&cli(args), &args.join(" ")),
            "NOT_FOUND",
            "{args:?}"
        );
    }
    // Another tenant's binding is not found.
    for args in [
        &["move", claim.as_str(), "--position", "0", "--json"][..],
        &["update", claim.as_str(), "--fail-open", "--json"],
    ] {
        assert_eq!(
            refusal(&theirs(args), &args.join(" ")),
            "NOT_FOUND",
            "{args:?}"
        );
    }

    // test-slot: the slot as saved, on the test runner.
    let event = example("starters/custom-claim/events/gold-user.json");
    let tested = cli(&["test-slot", "login.post-login", "--event", &event, "--json"]);
    succeeded(&tested, "test-slot");
    let tested = json_of(&tested);
    assert_eq!(tested["decision"], "allow");
    let ran: Vec<&Value> = tested["bindings"]
        .as_array()
        .expect("bindings")
        .iter()
        .map(|b| &b["action"])
        .collect();
    assert_eq!(
        ran,
        [&json!("custom-claim"), &json!("noop")],
        "in the slot's order"
    );
    assert_eq!(
        tested["access_token_claims"]["https://example.com/level"],
        "gold"
    );
    let as_text = cli(&["test-slot", "login.post-login", "--event", &event]);
    succeeded(&as_text, "test-slot as text");
    let text = String::from_utf8_lossy(&as_text.stdout).into_owned();
    assert!(text.contains("decision  allow"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when piped: {text}");
    let refused = cli(&["test-slot", "login.nowhere", "--event", &event, "--json"]);
    assert_eq!(refusal(&refused, "an unknown slot"), "INVALID_ARGUMENT");
    let run_id = tested["run_id"].as_str().expect("run id").to_owned();

    // runs: the test run, found by its filters and not by others.
    let runs = |args: &[&str]| {
        let out = cli(&[&["runs", "--json"][..], args].concat());
        succeeded(&out, &format!("runs {args:?}"));
        json_of(&out)
            .as_array()
            .expect("runs")
            .iter()
            .map(|r| r["run_id"].as_str().expect("run id").to_owned())
            .collect::<Vec<_>>()
    };
    // Two test runs: the slot tested as JSON (`run_id`) and as text.
    let found = eventually("the test runs recorded", || {
        let found = runs(&["--tests"]);
        (found.len() == 2).then_some(found)
    });
    assert!(found.contains(&run_id), "{found:?}");
    assert!(runs(&[]).is_empty(), "test runs are left out by default");
    for filters in [
        &["--tests", "--flow", "login"][..],
        &["--tests", "--trigger", "login.post-login"],
        &["--tests", "--action", "noop"],
        &["--tests", "--decision", "allow"],
        &["--tests", "--outcome", "allowed"],
        &["--tests", "--since", "1h"],
        &[
            "--tests",
            "--since",
            "1h",
            "--until",
            "2100-01-01T00:00:00Z",
        ],
    ] {
        assert_eq!(runs(filters), found, "{filters:?}");
    }
    assert_eq!(
        runs(&["--tests", "--limit", "1"]),
        found[..1],
        "newest first"
    );
    for filters in [
        &["--tests", "--flow", "registration"][..],
        &["--tests", "--trigger", "login.pre-credential-check"],
        &["--tests", "--action", "nobody"],
        &["--tests", "--decision", "deny"],
        &["--tests", "--outcome", "out_of_fuel"],
        &["--tests", "--until", "2000-01-01T00:00:00Z"],
    ] {
        assert!(runs(filters).is_empty(), "{filters:?}");
    }
    let as_text = cli(&["runs", "--tests"]);
    succeeded(&as_text, "runs as text");
    let text = String::from_utf8_lossy(&as_text.stdout).into_owned();
    assert!(text.contains(&run_id) && text.contains("(test)"), "{text}");
    assert_eq!(
        cli(&["runs", "--since", "yesterday"]).status.code(),
        Some(2)
    );
    assert_eq!(cli(&["runs", "--outcome", "fine"]).status.code(), Some(2));
    let other_runs = theirs(&["runs", "--tests", "--json"]);
    succeeded(&other_runs, "another tenant's runs");
    assert_eq!(json_of(&other_runs), json!([]));

    // test-version: one saved version, its trigger found by itself.
    let tested = cli(&["test-version", "custom-claim", "--event", &event, "--json"]);
    succeeded(&tested, "test-version");
    let tested = json_of(&tested);
    assert_eq!(tested["decision"], "allow");
    assert_eq!(
        tested["access_token_claims"]["https://example.com/tier"],
        "gold"
    );
    let tested = cli(&[
        "test-version",
        "custom-claim",
        "--version",
        "0.1.0",
        "--trigger",
        "login.post-login",
        "--config",
        &config,
        "--event",
        &event,
    ]);
    succeeded(&tested, "test-version as text");
    assert!(
        String::from_utf8_lossy(&tested.stdout).contains("https://example.com/level = \"gold\"")
    );
    let refused = cli(&[
        "test-version",
        "custom-claim",
        "--config",
        &misfit,
        "--event",
        &event,
        "--json",
    ]);
    assert_eq!(
        refusal(&refused, "test-version with a misfit config"),
        "FAILED_PRECONDITION"
    );
    for out in [
        cli(&["test-version", "nope", "--event", &event, "--json"]),
        cli(&[
            "test-version",
            "custom-claim",
            "--version",
            "9.9.9",
            "--trigger",
            "login.post-login",
            "--event",
            &event,
            "--json",
        ]),
        theirs(&["test-version", "custom-claim", "--event", &event, "--json"]),
    ] {
        assert_eq!(refusal(&out, "test-version of nothing"), "NOT_FOUND");
    }

    // A production run, through the runner: listed by default, counted by stats.
    let production = eventually("the bindings reaching the runner", || {
        let out = action(&[
            "trigger",
            "login.post-login",
            "--tenant",
            "acme",
            "--server",
            &service.runner,
            "--token",
            &service.runner_token,
            "--event",
            &event,
            "--json",
        ]);
        let answer = json_of(&out);
        (answer["bindings"].as_array().is_some_and(|b| b.len() == 2)).then_some(answer)
    });
    let production = production["run_id"].as_str().expect("run id").to_owned();
    eventually("the production run recorded", || {
        runs(&[]).contains(&production).then_some(())
    });
    let stats = cli(&["stats", "--json"]);
    succeeded(&stats, "stats");
    let stats = json_of(&stats);
    let claim_stats = stats["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["action"] == "custom-claim")
        .cloned()
        .expect("custom-claim's runs are counted");
    assert!(
        claim_stats["runs"].as_u64().is_some_and(|n| n >= 1),
        "{stats}"
    );
    let runs_counted: u64 = stats["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["runs"].as_u64().expect("runs"))
        .sum();
    assert!(runs_counted >= 1, "{stats}");
    let as_text = cli(&["stats", "--since", "2h", "--bucket", "5m"]);
    succeeded(&as_text, "stats as text");
    assert!(String::from_utf8_lossy(&as_text.stdout).contains("custom-claim"));
    let refused = cli(&["stats", "--since", "3d", "--json"]);
    assert_eq!(
        refusal(&refused, "stats over more than a day"),
        "INVALID_ARGUMENT"
    );
    assert_eq!(cli(&["stats", "--bucket", "5"]).status.code(), Some(2));
    let other_stats = json_of(&theirs(&["stats", "--json"]));
    assert_eq!(
        other_stats["actions"],
        json!([]),
        "another tenant counts none of it"
    );

    service.stop();
}
