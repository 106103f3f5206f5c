//! `action build`: the module and its hash, and a compile error that names
//! its place (for `action test` too).

use crate::common::{action, example, json_of, write};
use serde_json::json;

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
