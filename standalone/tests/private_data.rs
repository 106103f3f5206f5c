//! The embedded default keeps its data to its user: the folders it creates
//! are 0700, the secrets file 0600, and it prints tokens only when it has
//! just generated them.

use actions_standalone::Options;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_is_private_and_tokens_are_new_only_once() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let options = Options {
        data_dir: data.clone(),
        control_plane_listen: "127.0.0.1:0".into(),
        runner_listen: "127.0.0.1:0".into(),
        demo: false,
        starters: temp.path().join("no-starters"),
        console_dir: None,
        replay_data: true,
    };
    let first = actions_standalone::start(&options).await.expect("starts");
    assert!(
        first.generated_tokens,
        "the first start generates the tokens"
    );
    let tokens = first.secrets.clone();
    first.stop().await.expect("stops");

    for folder in [data.clone(), data.join("modules"), data.join("cache")] {
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
    }
    assert_eq!(mode(&data.join("secrets.toml")), 0o600);
    for entry in std::fs::read_dir(data.join("cache")).expect("cache") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }

    let again = actions_standalone::start(&options)
        .await
        .expect("starts again");
    assert!(
        !again.generated_tokens,
        "a restart generates nothing to show"
    );
    assert_eq!(again.secrets.runner_token, tokens.runner_token);
    again.stop().await.expect("stops");
}
