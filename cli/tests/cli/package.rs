//! Packages: `action init` from every starter, and `action pack` checking
//! the manifest first.

use crate::common::action;
use actions_proto::manifest::Manifest;
use serde_json::{Value, json};

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
