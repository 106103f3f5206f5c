//! The demo loader: the starters go in as their manifests and the compiler's
//! reading of their folders say, and a broken starter stops the start with
//! the manifest's own error.

use actions_compiler::SourcePackage;
use actions_proto::controlplane::v1::{self as pb, actions_client::ActionsClient};
use actions_proto::manifest::{Manifest, ManifestError};
use actions_standalone::{Options, StandaloneError};
use std::path::{Path, PathBuf};

fn starters() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/starters")
}

fn options(data: &Path, starters: &Path) -> Options {
    Options {
        data_dir: data.to_owned(),
        control_plane_listen: "127.0.0.1:0".into(),
        runner_listen: "127.0.0.1:0".into(),
        demo: true,
        starters: starters.to_owned(),
        console_dir: None,
        replay_data: true,
    }
}

fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    actions_proto::bearer::request(message, token).expect("a token that fits in a header")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_loads_each_starter_as_its_manifest_and_folder_say() {
    let data = tempfile::tempdir().expect("temp dir");
    let running = actions_standalone::start(&options(data.path(), &starters()))
        .await
        .expect("the demo loads");
    let token = running.secrets.demo_token.clone();
    let mut actions = ActionsClient::connect(format!("http://{}", running.control_plane))
        .await
        .expect("connect");
    let listed = actions
        .list_actions(with_token(pb::ListActionsRequest::default(), &token))
        .await
        .expect("list")
        .into_inner()
        .actions;
    let mut slugs: Vec<&str> = listed.iter().map(|a| a.slug.as_str()).collect();
    slugs.sort_unstable();
    assert_eq!(slugs, ["custom-claim", "domain-allowlist", "webhook-emit"]);
    for action in &listed {
        let dir = starters().join(&action.slug);
        let manifest = Manifest::load(&dir).expect("the starter's manifest");
        assert_eq!(action.name, manifest.name);
        let triggers: Vec<&str> = manifest.triggers.iter().map(|t| t.as_str()).collect();
        assert_eq!(action.triggers, triggers, "{}", action.slug);
        let version = manifest.version.expect("the starters give a version");
        assert_eq!(action.latest_version, version.to_string());
        assert_eq!(action.live_versions, [version.to_string()]);
        assert_eq!(action.bindings, 1, "{} is attached", action.slug);

        let stored = actions
            .get_version_source(with_token(
                pb::GetVersionSourceRequest {
                    slug: action.slug.clone(),
                    version: action.latest_version.clone(),
                },
                &token,
            ))
            .await
            .expect("source")
            .into_inner();
        let version = stored.version.expect("version");
        let schema: serde_json::Value =
            serde_json::from_str(&version.config_schema_json).expect("schema JSON");
        assert_eq!(Some(schema), manifest.config_schema, "{}", action.slug);
        let source = stored.source.expect("source");
        let package = SourcePackage::load(&dir).expect("the starter's modules");
        assert_eq!(source.entry, package.entry());
        let mut sent: Vec<(&str, &[u8])> = source
            .files
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_bytes()))
            .collect();
        sent.sort_unstable();
        assert_eq!(sent, package.files().collect::<Vec<_>>(), "{}", action.slug);
    }
    running.stop().await.expect("stops");

    // Loading again over the same data saves nothing new.
    let again = actions_standalone::start(&options(data.path(), &starters()))
        .await
        .expect("the demo loads again");
    let mut actions = ActionsClient::connect(format!("http://{}", again.control_plane))
        .await
        .expect("connect");
    let relisted = actions
        .list_actions(with_token(pb::ListActionsRequest::default(), &token))
        .await
        .expect("list")
        .into_inner()
        .actions;
    assert_eq!(relisted.len(), 3);
    for action in &relisted {
        assert_eq!(action.bindings, 1, "{} is attached once", action.slug);
        assert_eq!(
            action.live_versions,
            std::slice::from_ref(&action.latest_version)
        );
    }
    again.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starter_with_a_wrong_manifest_stops_the_demo_with_the_manifest_s_error() {
    let temp = tempfile::tempdir().expect("temp dir");
    let starters_copy = temp.path().join("starters");
    copy_dir(&starters(), &starters_copy);
    let manifest_path = starters_copy.join("custom-claim/action.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("read")).expect("JSON");
    manifest["triggers"] = serde_json::json!(["login.after-coffee"]);
    std::fs::write(&manifest_path, manifest.to_string()).expect("write");

    let refused = actions_standalone::start(&options(&temp.path().join("data"), &starters_copy))
        .await
        .err()
        .expect("a wrong starter stops the demo");
    assert!(
        matches!(
            &refused,
            StandaloneError::DemoManifest(ManifestError::UnknownTrigger { file, source })
                if Path::new(file) == manifest_path && source.0 == "login.after-coffee"
        ),
        "{refused:?}"
    );
}
