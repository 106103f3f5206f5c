//! The Actions commands against the embedded service: list, show,
//! versions, source (and uploading what it wrote), rollback and delete,
//! each as text and as JSON, with their refusals told by status and code.

use crate::common::{Embedded, action_for, json_of, refusal, succeeded};
use serde_json::{Value, json};

#[test]
fn actions_are_listed_shown_read_rolled_back_and_deleted() {
    let service = Embedded::start();
    let token = service.tenant("acme");
    let other = service.tenant("other");
    let cli = |args: &[&str]| action_for(&service.server, &token, args);
    let dir = |name: &str| service.data.path().join(name).display().to_string();

    // Nothing yet: an empty list, in both forms.
    let empty = cli(&["list", "--json"]);
    succeeded(&empty, "list of nothing");
    assert_eq!(json_of(&empty), json!([]));
    succeeded(&cli(&["list"]), "list of nothing as text");

    let package = dir("claim");
    succeeded(
        &cli(&[
            "init",
            &package,
            "--starter",
            "custom-claim",
            "--slug",
            "custom-claim",
        ]),
        "init",
    );
    let uploaded = cli(&["upload", &package]);
    succeeded(&uploaded, "upload");
    // Piped, the upload shows no progress: standard error stays empty.
    assert!(
        uploaded.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&uploaded.stderr)
    );
    succeeded(&cli(&["publish", "custom-claim"]), "publish 0.1.0");

    // `source` writes a package that uploads again, as the next patch.
    let copy = dir("claim-copy");
    let written = cli(&["source", "custom-claim", "-o", &copy, "--json"]);
    succeeded(&written, "source");
    let written = json_of(&written);
    assert_eq!(written["version"], "0.1.0");
    let files: Vec<&str> = written["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f.as_str().expect("path"))
        .collect();
    assert!(
        files.contains(&"action.json") && files.contains(&"src/index.ts"),
        "{files:?}"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{copy}/src/index.ts")).expect("index.ts"),
        std::fs::read_to_string(format!("{package}/src/index.ts")).expect("index.ts"),
    );
    let again = cli(&["upload", &copy, "--json"]);
    succeeded(&again, "upload what source wrote");
    assert_eq!(json_of(&again)["version"], "0.1.1");
    assert_eq!(json_of(&again)["created"], false);
    succeeded(&cli(&["publish", "custom-claim"]), "publish 0.1.1");
    // Into a folder that is not empty: refused, nothing written, no code
    // (the control plane was not asked).
    let refused = cli(&["source", "custom-claim", "-o", &copy, "--json"]);
    assert_eq!(refusal(&refused, "source into a full folder"), Value::Null);
    let text_copy = dir("claim-text");
    let as_text = cli(&[
        "source",
        "custom-claim",
        "--version",
        "0.1.0",
        "-o",
        &text_copy,
    ]);
    succeeded(&as_text, "source as text");
    assert!(String::from_utf8_lossy(&as_text.stdout).contains("custom-claim@0.1.0"));

    // list, show and versions, as JSON and as text.
    let listed = cli(&["list", "--json"]);
    succeeded(&listed, "list");
    let listed = json_of(&listed);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["slug"], "custom-claim");
    assert_eq!(listed[0]["latest_version"], "0.1.1");
    assert_eq!(listed[0]["live_versions"], json!(["0.1.1"]));
    let text = String::from_utf8_lossy(&cli(&["list"]).stdout).into_owned();
    assert!(
        text.contains("custom-claim") && text.contains("0.1.1"),
        "{text}"
    );
    let shown = cli(&["show", "custom-claim", "--json"]);
    succeeded(&shown, "show");
    assert_eq!(json_of(&shown)["triggers"], json!(["login.post-login"]));
    let text = String::from_utf8_lossy(&cli(&["show", "custom-claim"]).stdout).into_owned();
    assert!(text.contains("latest    0.1.1"), "{text}");
    let versions = cli(&["versions", "custom-claim", "--json"]);
    succeeded(&versions, "versions");
    let versions = json_of(&versions);
    let names: Vec<&Value> = versions
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| &v["version"])
        .collect();
    assert_eq!(names, [&json!("0.1.1"), &json!("0.1.0")], "newest first");
    assert_eq!(versions[0]["live"], true);
    assert_eq!(versions[1]["live"], false);
    let text = String::from_utf8_lossy(&cli(&["versions", "custom-claim"]).stdout).into_owned();
    assert!(text.contains("0.1.1") && text.contains("live"), "{text}");

    // Roll back to 0.1.0, then see it live.
    let rolled = cli(&["rollback", "custom-claim", "--to", "0.1.0", "--json"]);
    succeeded(&rolled, "rollback");
    assert_eq!(json_of(&rolled)["previous"], "0.1.1");
    assert_eq!(json_of(&rolled)["version"], "0.1.0");
    assert_eq!(json_of(&rolled)["live"], true);
    let shown = json_of(&cli(&["show", "custom-claim", "--json"]));
    assert_eq!(shown["live_versions"], json!(["0.1.0"]));
    let rolled = cli(&["rollback", "custom-claim", "--to", "0.1.1"]);
    succeeded(&rolled, "rollback as text");
    assert!(
        String::from_utf8_lossy(&rolled.stdout)
            .contains("custom-claim@0.1.1 is live again (was 0.1.0)"),
        "{}",
        String::from_utf8_lossy(&rolled.stdout)
    );

    // Unknown slugs and versions: NOT_FOUND, for every command.
    let nope = dir("nope");
    let nope = nope.as_str();
    for args in [
        &["show", "nope", "--json"][..],
        &["versions", "nope", "--json"],
        &["source", "nope", "-o", nope, "--json"],
        &[
            "source",
            "custom-claim",
            "--version",
            "9.9.9",
            "-o",
            nope,
            "--json",
        ],
        &["rollback", "nope", "--to", "0.1.0", "--json"],
        &["rollback", "custom-claim", "--to", "9.9.9", "--json"],
        &["delete", "nope", "--json"],
    ] {
        assert_eq!(
            refusal(&cli(args), &args.join(" ")),
            "NOT_FOUND",
            "{args:?}"
        );
    }
    // Another tenant sees none of it.
    let theirs = |args: &[&str]| action_for(&service.server, &other, args);
    let their_copy = dir("theirs");
    let their_copy = their_copy.as_str();
    assert_eq!(json_of(&theirs(&["list", "--json"])), json!([]));
    for args in [
        &["show", "custom-claim", "--json"][..],
        &["versions", "custom-claim", "--json"],
        &["source", "custom-claim", "-o", their_copy, "--json"],
        &["rollback", "custom-claim", "--to", "0.1.0", "--json"],
        &["delete", "custom-claim", "--json"],
    ] {
        assert_eq!(
            refusal(&theirs(args), &args.join(" ")),
            "NOT_FOUND",
            "{args:?}"
        );
    }
    // A wrong token.
    let stranger = action_for(&service.server, "act_wrong", &["list", "--json"]);
    assert_eq!(refusal(&stranger, "a wrong token"), "UNAUTHENTICATED");
    // Without --json, the same refusal is told on standard error only.
    let plain = cli(&["show", "nope"]);
    assert_eq!(plain.status.code(), Some(1));
    assert!(plain.stdout.is_empty());

    // Delete: refused while bound, done once detached.
    let attached = cli(&["attach", "login", "post-login", "custom-claim", "--json"]);
    succeeded(&attached, "attach");
    let binding = json_of(&attached)["id"].as_str().expect("id").to_owned();
    let bound = cli(&["delete", "custom-claim", "--json"]);
    assert_eq!(refusal(&bound, "delete while bound"), "FAILED_PRECONDITION");
    succeeded(&cli(&["detach", &binding]), "detach");
    let deleted = cli(&["delete", "custom-claim", "--json"]);
    succeeded(&deleted, "delete");
    assert_eq!(json_of(&deleted)["versions_deleted"], 2);
    assert_eq!(json_of(&cli(&["list", "--json"])), json!([]));
    succeeded(&cli(&["upload", &package]), "upload once more");
    let deleted = cli(&["delete", "custom-claim"]);
    succeeded(&deleted, "delete as text");
    assert!(String::from_utf8_lossy(&deleted.stdout).contains("deleted custom-claim"));

    service.stop();
}
