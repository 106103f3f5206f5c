//! The CLI as a Unix citizen: a closed pipe ends a command quietly with
//! its usual status, and shell completions and manual pages come from the
//! same definitions the command parses with.

use crate::common::{Embedded, action, succeeded};
use actions_test_support::cache_dir;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `action` with standard output a pipe whose reading end is closed
/// before the command writes anything (as `| head -0` would).
fn with_closed_stdout(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_action"))
        .args(args)
        .envs(envs.iter().copied())
        .env(
            "XDG_CONFIG_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-profile"),
        )
        .env("ACTIONS_CACHE_DIR", cache_dir!())
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("action starts");
    drop(child.stdout.take());
    child.wait_with_output().expect("action ends")
}

fn quiet_success(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{what} panicked:\n{stderr}");
    assert!(stderr.is_empty(), "{what} said something:\n{stderr}");
    assert_eq!(output.status.code(), Some(0), "{what}: {:?}", output.status);
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let service = Embedded::start();
    let token = service.tenant("acme");
    let envs = [
        ("ACTIONS_SERVER", service.server.as_str()),
        ("ACTIONS_TOKEN", token.as_str()),
    ];
    for args in [
        &["flows", "--json"][..],
        &["flows"],
        &["list", "--json"],
        &["runs", "--json"],
    ] {
        quiet_success(&with_closed_stdout(&envs, args), &args.join(" "));
    }
    for args in [&["completions", "bash"][..], &["man"], &["--help"]] {
        quiet_success(&with_closed_stdout(&[], args), &args.join(" "));
    }
    // A refusal is still told, with its status, when nobody reads the output.
    let refused = with_closed_stdout(&envs, &["show", "nope", "--json"]);
    assert!(!String::from_utf8_lossy(&refused.stderr).contains("panicked"));
    assert_eq!(refused.status.code(), Some(1));
    service.stop();
}

#[test]
fn completions_and_manual_pages_come_from_the_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let out = action(&["completions", shell]);
        succeeded(&out, &format!("completions {shell}"));
        let script = String::from_utf8_lossy(&out.stdout);
        for word in ["rollback", "runner-tokens", "test-slot", "json"] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
    }
    assert_eq!(action(&["completions", "tcsh"]).status.code(), Some(2));

    let page = action(&["man"]);
    succeeded(&page, "man");
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH action 1"),
        "{page}"
    );
    assert!(page.contains("rollback"), "{page}");

    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("man1");
    let written = action(&["man", "--out-dir", &out_dir.display().to_string()]);
    succeeded(&written, "man --out-dir");
    for page in [
        "action.1",
        "action-rollback.1",
        "action-admin-tenants-create.1",
    ] {
        let text =
            std::fs::read_to_string(out_dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
}

#[test]
fn progress_shows_on_a_terminal_only() {
    // `script` (util-linux) gives the command a terminal.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to give the command a terminal");
        return;
    }
    let service = Embedded::start();
    let token = service.tenant("acme");
    let package = service.data.path().join("claim");
    let cli = |args: &[&str]| crate::common::action_for(&service.server, &token, args);
    succeeded(
        &cli(&[
            "init",
            &package.display().to_string(),
            "--starter",
            "custom-claim",
        ]),
        "init",
    );
    let on_terminal = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!(
            "'{}' upload '{}'",
            env!("CARGO_BIN_EXE_action"),
            package.display()
        ))
        .arg("/dev/null")
        .env("ACTIONS_SERVER", &service.server)
        .env("ACTIONS_TOKEN", &token)
        .env(
            "XDG_CONFIG_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-profile"),
        )
        .env("ACTIONS_CACHE_DIR", cache_dir!())
        .stdin(Stdio::null())
        .output()
        .expect("script runs");
    succeeded(&on_terminal, "upload on a terminal");
    let shown = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(
        shown.contains("uploading") && shown.contains("the control plane compiles it"),
        "{shown}"
    );
    assert!(shown.contains("created claim@0.1.0"), "{shown}");
    // Piped, an upload adds nothing to either stream but its result.
    let other = service.data.path().join("other").display().to_string();
    succeeded(&cli(&["init", &other, "--starter", "empty"]), "init");
    let piped = cli(&["upload", &other, "--json"]);
    succeeded(&piped, "upload piped");
    assert!(
        piped.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    service.stop();
}
