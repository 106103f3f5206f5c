//! What the tests share: the `action` binary run with a private plugin
//! cache (and, for the control-plane commands, a server and a token), its
//! JSON output, the examples, and waiting for what happens in the
//! background.

use actions_test_support::{cache_dir, examples};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

pub fn action(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_action"))
        .args(args)
        .env("ACTIONS_CACHE_DIR", cache_dir!())
        .env("NO_COLOR", "1")
        .output()
        .expect("action runs")
}

pub fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub fn example(path: &str) -> String {
    examples().join(path).display().to_string()
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// `action` with the control plane's address and a tenant token.
pub fn action_for(server: &str, token: &str, args: &[&str]) -> Output {
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

pub fn succeeded(output: &Output, what: &str) {
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
pub fn eventually<T>(what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
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
