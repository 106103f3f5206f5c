//! `action test`: compile, then run in the runner's own sandbox.

use crate::build::{compile, report_compile_error};
use crate::{Status, cases, output};
use actions_runner::execution::response::redacted_report;
use actions_runner::{RunLimits, RunReport, RunRequest, Sandbox, SandboxConfig, Trigger};
use anyhow::Context as _;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub(crate) struct TestArgs {
    /// The Action: a .ts file, or a folder with src/index.ts (and tests/).
    path: PathBuf,
    /// An event (JSON). Without one, every case in <folder>/tests/ runs.
    #[arg(long)]
    event: Option<PathBuf>,
    /// The binding's configuration (JSON), seen as `event.config`.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Secret values for the run (a JSON object of strings), seen as
    /// `event.secrets`; a test case's own `secrets` go over them.
    #[arg(long)]
    secrets: Option<PathBuf>,
    /// The trigger slot to run at.
    #[arg(long, default_value = "login.post-login", value_parser = parse_trigger)]
    trigger: Trigger,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Fuel for the run (deterministic CPU budget).
    #[arg(long)]
    fuel: Option<u64>,
    /// Wall-clock deadline in milliseconds.
    #[arg(long)]
    deadline_ms: Option<u64>,
    /// Linear memory limit in MiB.
    #[arg(long)]
    memory_mib: Option<u64>,
    /// Console output limit in bytes.
    #[arg(long)]
    log_bytes: Option<u64>,
    /// Run again whenever a file of the Action, its events or its cases changes (Ctrl-C stops).
    #[arg(long)]
    watch: bool,
}

fn parse_trigger(value: &str) -> Result<Trigger, String> {
    value
        .parse()
        .map_err(|e: actions_runner::UnknownTrigger| e.to_string())
}

impl TestArgs {
    fn limits(&self) -> RunLimits {
        let defaults = RunLimits::default();
        RunLimits {
            fuel: self.fuel.unwrap_or(defaults.fuel),
            deadline_ms: self.deadline_ms.unwrap_or(defaults.deadline_ms),
            memory_bytes: self
                .memory_mib
                .map_or(defaults.memory_bytes, |m| m * 1024 * 1024),
            log_bytes: self.log_bytes.unwrap_or(defaults.log_bytes),
            ..defaults
        }
    }
}

pub(crate) fn run(args: &TestArgs) -> anyhow::Result<Status> {
    if !args.watch {
        return run_once(args);
    }
    let mut seen = fingerprint(&args.path);
    loop {
        match run_once(args) {
            Ok(status) => eprintln!(
                "-- exit status {}; watching {} for changes",
                status as u8,
                args.path.display()
            ),
            Err(error) => eprintln!(
                "error: {error:#}\n-- watching {} for changes",
                args.path.display()
            ),
        }
        loop {
            std::thread::sleep(std::time::Duration::from_millis(250));
            let now = fingerprint(&args.path);
            if now != seen {
                seen = now;
                break;
            }
        }
    }
}

/// Every file's path, size and modification time under `path` (not
/// `dist/` or `node_modules/`): what `--watch` compares.
fn fingerprint(path: &Path) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut found = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&next) else {
            continue;
        };
        if meta.is_dir() {
            let skipped = next.file_name().is_some_and(|n| {
                n == "dist" || n == "node_modules" || n.to_string_lossy().starts_with('.')
            });
            if skipped && next != path {
                continue;
            }
            if let Ok(entries) = std::fs::read_dir(&next) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        } else {
            found.push((next, meta.len(), meta.modified().ok()));
        }
    }
    found.sort();
    found
}

fn run_once(args: &TestArgs) -> anyhow::Result<Status> {
    let compiled = match compile(&args.path, args.json)? {
        Ok(compiled) => compiled,
        Err(error) => return Ok(report_compile_error(&error, args.json)),
    };
    let sandbox = Sandbox::new(SandboxConfig {
        max_concurrent_runs: 8,
        cache_dir: crate::cache_dir(),
        ..SandboxConfig::default()
    })
    .context("starting the sandbox")?;
    let action = sandbox
        .load(&compiled.wasm)
        .context("loading the compiled Action")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .context("starting the async runtime")?;

    let secrets = match &args.secrets {
        Some(path) => read_secrets(path)?,
        None => Map::new(),
    };
    let Some(event_path) = &args.event else {
        return cases::run_all(
            &runtime,
            &sandbox,
            &action,
            &args.path,
            cases::Shared {
                limits: args.limits(),
                secrets,
            },
            args.json,
        );
    };
    let event = cases::read_json(event_path)?;
    let config = match &args.config {
        Some(path) => cases::read_json(path)?,
        None => Value::Object(Map::new()),
    };
    let report = runtime.block_on(sandbox.run(RunRequest {
        action,
        trigger: args.trigger,
        event,
        config,
        secrets: secrets.clone(),
        limits: args.limits(),
        replay: None,
    }));
    // As the runner answers: secrets redacted from whatever the run put out.
    let report = redacted_report(&report, &secrets);
    print(&report, args.json);
    Ok(if report.outcome.is_decision() {
        Status::Ok
    } else {
        Status::NoDecision
    })
}

/// A `--secrets` file: a JSON object whose values are all text, as the
/// control plane keeps them.
pub(crate) fn read_secrets(path: &Path) -> anyhow::Result<Map<String, Value>> {
    let Value::Object(secrets) = cases::read_json(path)? else {
        anyhow::bail!(
            "{}: --secrets must hold a JSON object of names to values",
            path.display()
        );
    };
    if let Some((name, _)) = secrets.iter().find(|(_, v)| !v.is_string()) {
        anyhow::bail!(
            "{}: the value of secret {name} is not text; secrets are strings",
            path.display()
        );
    }
    if let Some(name) = secrets
        .keys()
        .find(|n| !actions_proto::manifest::is_valid_secret_name(n))
    {
        anyhow::bail!(
            "{}: {name:?} is not a valid secret name: {}",
            path.display(),
            actions_proto::manifest::SECRET_NAME_RULE
        );
    }
    Ok(secrets)
}

fn print(report: &RunReport, json: bool) {
    if json {
        output::print_json(&output::report_json(report));
    } else {
        output::print_report(report);
    }
}
