//! `action replay` against the embedded service: a production run replayed
//! as it ran (identical), against a local package that changed (different,
//! status 3), and saved as a test case that `action test` replays locally
//! with the run's own clock, random values and answers.

use crate::common::{
    Embedded, action, action_for, eventually, example, json_of, refusal, succeeded,
};
use serde_json::Value;

/// Reads the clock and randomness, so that only the record's inputs can
/// make a rerun give the same claims.
const LUCKY: &str = r#"import type { Api, Event } from '../types/actions';

export async function execute(event: Event, api: Api) {
  const tier = event.user.app_metadata?.tier ?? 'free';
  const lucky = Math.floor(Math.random() * 1_000_000);
  api.accessToken.setCustomClaim('https://example.com/tier', tier);
  api.accessToken.setCustomClaim('https://example.com/lucky', lucky);
  api.accessToken.setCustomClaim('https://example.com/at', Date.now());
  console.log(`tier ${tier}, lucky ${lucky}`);
}
"#;

#[test]
fn a_production_run_is_replayed_compared_and_saved_as_a_test_case() {
    let service = Embedded::start();
    let token = service.tenant("acme");
    let cli = |args: &[&str]| action_for(&service.server, &token, args);
    let package = service.data.path().join("lucky");
    let package_arg = package.display().to_string();
    succeeded(
        &cli(&[
            "init",
            &package_arg,
            "--starter",
            "custom-claim",
            "--slug",
            "lucky",
        ]),
        "init",
    );
    std::fs::write(package.join("src/index.ts"), LUCKY).expect("write the source");
    // The starter's own cases are for its source, not this one.
    std::fs::remove_dir_all(package.join("tests")).expect("remove the starter's cases");
    succeeded(&cli(&["upload", &package_arg]), "upload");
    succeeded(&cli(&["publish", "lucky"]), "publish");
    succeeded(&cli(&["attach", "login", "post-login", "lucky"]), "attach");

    let runner = service.runner.clone();
    let event = example("starters/custom-claim/events/gold-user.json");
    let trigger = || {
        json_of(&action(&[
            "trigger",
            "login.post-login",
            "--tenant",
            "acme",
            "--server",
            &runner,
            "--token",
            &service.runner_token,
            "--event",
            &event,
            "--json",
        ]))
    };
    let run = eventually("the binding runs", || {
        let answer = trigger();
        (answer["access_token_claims"]["https://example.com/tier"] == "gold").then_some(answer)
    });
    let run_id = run["run_id"].as_str().expect("run id").to_owned();
    assert_ne!(
        trigger()["access_token_claims"],
        run["access_token_claims"],
        "a live rerun reads another clock and other random numbers"
    );

    // As it ran: identical, status 0.
    let replayed = eventually("the run is recorded and replayed", || {
        let out = cli(&["replay", &run_id, "--json"]);
        out.status.success().then_some(out)
    });
    let answer = json_of(&replayed);
    assert_eq!(answer["identical"], true, "{answer}");
    assert_eq!(
        answer["replayed"]["access_token_claims"],
        run["access_token_claims"]
    );
    let text = cli(&["replay", &run_id]);
    succeeded(&text, "replay as text");
    assert!(
        String::from_utf8_lossy(&text.stdout).starts_with("identical: decision allow"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );

    // Saved as a case of the package, it passes locally: the case carries
    // the run's clock readings and random seed.
    let case = package.join("tests/from-production.json");
    let saved = cli(&[
        "replay",
        &run_id,
        "--save-case",
        &case.display().to_string(),
        "--json",
    ]);
    succeeded(&saved, "replay --save-case");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&case).expect("the case")).expect("JSON");
    assert_eq!(
        written["expect"]["access_token_claims"],
        run["access_token_claims"]
    );
    let tested = action(&["test", &package_arg, "--json"]);
    succeeded(&tested, "action test with the saved case");

    // The fix being written: another tier text. Replayed against the local
    // package it differs (status 3), and the saved case now fails.
    std::fs::write(
        package.join("src/index.ts"),
        LUCKY
            .replace("?? 'free'", "?? 'free'; const shown = tier.toUpperCase()")
            .replace(
                "setCustomClaim('https://example.com/tier', tier)",
                "setCustomClaim('https://example.com/tier', shown)",
            ),
    )
    .expect("change the source");
    let differs = cli(&["replay", &run_id, "--package", &package_arg, "--json"]);
    assert_eq!(differs.status.code(), Some(3), "{differs:?}");
    let answer = json_of(&differs);
    assert_eq!(answer["identical"], false);
    let paths: Vec<&str> = answer["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .map(|d| d["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths, ["access_token_claims.https://example.com/tier"]);
    assert_eq!(answer["differences"][0]["replayed"], "\"GOLD\"");
    let failing = action(&["test", &package_arg, "--json"]);
    assert_eq!(failing.status.code(), Some(3), "{failing:?}");

    // Refusals carry their code.
    assert_eq!(
        refusal(&cli(&["replay", "no-such-run", "--json"]), "an unknown run"),
        "NOT_FOUND"
    );
    assert_eq!(
        refusal(
            &cli(&["replay", &run_id, "--version", "9.9.9", "--json"]),
            "an unknown version"
        ),
        "NOT_FOUND"
    );
    let other = service.tenant("other");
    assert_eq!(
        refusal(
            &action_for(&service.server, &other, &["replay", &run_id, "--json"]),
            "another tenant's run"
        ),
        "NOT_FOUND"
    );
    service.stop();
}
