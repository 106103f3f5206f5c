//! `action`: build and test Actions locally, in the very sandbox the runner
//! uses.
//!
//! Exit codes: 0 success; 1 the Action did not compile, an input file is
//! wrong, or the control plane refused the call; 2 bad command-line usage;
//! 3 the Action ran but did not reach a decision (a limit or an error), or
//! a test case failed. Under `--json` an error is also printed to standard
//! output as `{"error": "...", "code": "NOT_FOUND"}` (`code` is the control
//! plane's gRPC status, `null` for any other error).

mod build;
mod cases;
mod docs;
mod init;
mod manage;
mod output;
mod run;
mod secret_types;
mod trigger;

use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "action",
    version,
    about = "Build and test Actions for the identity platform's sign-in and sign-up flows"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a package from a starter: manifest, source, declarations, test cases, README.
    Init(init::InitArgs),
    /// Compile an Action (a .ts file or a package folder) to a Wasm module.
    Build(build::BuildArgs),
    /// Run an Action against an event, or every case in its tests/ folder.
    Test(run::TestArgs),
    /// Call a runner's Execute for a trigger slot, as an auth backend would.
    Trigger(trigger::TriggerArgs),
    /// Check a tenant token and keep it, with the server, for the other commands.
    Login(manage::login::LoginArgs),
    /// Pack a package folder into the .tar.gz the control plane accepts.
    Pack(manage::actions::PackArgs),
    /// Upload a package (folder or .tar.gz): creates the Action or saves a new version.
    Upload(manage::actions::UploadArgs),
    /// Make a version live.
    Publish(manage::actions::PublishArgs),
    /// Bind an Action to a trigger slot of a flow.
    Attach(manage::flows::AttachArgs),
    /// Remove a binding.
    Detach(manage::flows::DetachArgs),
    /// List the flows, their slots and what is bound to them.
    Flows(manage::flows::FlowsArgs),
    /// Runs and their console output.
    Logs(manage::runs::LogsArgs),
    /// The audit trail.
    Audit(manage::audit::AuditArgs),
    /// List the tenant's Actions.
    List(manage::actions::ListArgs),
    /// Show one Action: triggers, latest and live versions, bindings.
    Show(manage::actions::ShowArgs),
    /// List an Action's versions, newest first.
    Versions(manage::actions::VersionsArgs),
    /// Write a version's package (action.json and sources) to a folder.
    Source(manage::actions::SourceArgs),
    /// Make an older version live again.
    Rollback(manage::actions::RollbackArgs),
    /// Delete an Action and all its versions (refused while it is bound).
    Delete(manage::actions::DeleteArgs),
    /// Move a binding to another place in its slot.
    Move(manage::flows::MoveArgs),
    /// Change a binding's configuration, failure policy, major or limits.
    Update(manage::flows::UpdateArgs),
    /// Run a trigger slot with its saved bindings on a test runner (the flow-builder's test).
    TestSlot(manage::test_runs::TestSlotArgs),
    /// Run one saved version against an event on a test runner.
    TestVersion(manage::test_runs::TestVersionArgs),
    /// Run a recorded run again from its record, and show whether it comes out the same.
    Replay(manage::replay::ReplayArgs),
    /// List run records, filtered by flow, trigger, Action, decision, outcome and time.
    Runs(manage::runs::RunsArgs),
    /// Production runs over a recent window: counts per bucket of time, run times per Action.
    Stats(manage::runs::StatsArgs),
    /// Operator commands: tenants, their tokens, runners' tokens.
    Admin(manage::admin::AdminArgs),
    /// Print a shell completion script (bash, zsh, fish, ...).
    Completions(docs::CompletionsArgs),
    /// Print the manual page (roff), or write one per command to a folder.
    Man(docs::ManArgs),
    /// An Action's secrets: set (value from standard input), remove, list.
    Secret(manage::secrets::SecretArgs),
}

/// Exit statuses, documented in the README.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Status {
    Ok = 0,
    BadInput = 1,
    NoDecision = 3,
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let json = wants_json(&matches);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let result = match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Build(args) => build::run(&args),
        Command::Test(args) => run::run(&args),
        Command::Trigger(args) => trigger::run(&args),
        Command::Login(args) => manage::login::login(&args),
        Command::Pack(args) => manage::actions::pack(&args),
        Command::Upload(args) => manage::actions::upload(&args),
        Command::Publish(args) => manage::actions::publish(&args),
        Command::Attach(args) => manage::flows::attach(&args),
        Command::Detach(args) => manage::flows::detach(&args),
        Command::Flows(args) => manage::flows::flows(&args),
        Command::Logs(args) => manage::runs::logs(&args),
        Command::Audit(args) => manage::audit::audit(&args),
        Command::List(args) => manage::actions::list(&args),
        Command::Show(args) => manage::actions::show(&args),
        Command::Versions(args) => manage::actions::versions(&args),
        Command::Source(args) => manage::actions::source(&args),
        Command::Rollback(args) => manage::actions::rollback(&args),
        Command::Delete(args) => manage::actions::delete(&args),
        Command::Move(args) => manage::flows::move_binding(&args),
        Command::Update(args) => manage::flows::update(&args),
        Command::TestSlot(args) => manage::test_runs::test_slot(&args),
        Command::TestVersion(args) => manage::test_runs::test_version(&args),
        Command::Replay(args) => manage::replay::replay(&args),
        Command::Runs(args) => manage::runs::runs(&args),
        Command::Stats(args) => manage::runs::stats(&args),
        Command::Admin(args) => manage::admin::run(&args),
        Command::Completions(args) => docs::completions(&args),
        Command::Man(args) => docs::man(&args),
        Command::Secret(args) => manage::secrets::secret(&args),
    };
    match result {
        Ok(status) => ExitCode::from(status as u8),
        Err(error) => {
            eprintln!("error: {error:#}");
            if json {
                output::print_error_json(&error_json(&error));
            }
            ExitCode::from(Status::BadInput as u8)
        }
    }
}

/// Whether the command that runs (the innermost subcommand) was given `--json`.
fn wants_json(matches: &ArgMatches) -> bool {
    let mut matches = matches;
    while let Some((_, inner)) = matches.subcommand() {
        matches = inner;
    }
    matches!(matches.try_get_one::<bool>("json"), Ok(Some(true)))
}

/// An error as `--json` prints it, in the shape `action build --json`
/// gives a compile error: `"error"`, the message as on standard error, and
/// `"code"`, the control plane's status when it refused (what scripts
/// compare), `null` otherwise.
fn error_json(error: &anyhow::Error) -> serde_json::Value {
    let code = error
        .downcast_ref::<manage::Refused>()
        .map(|refused| manage::code_name(refused.code));
    json!({ "error": format!("{error:#}"), "code": code })
}

/// Where the compiled plugin is cached between invocations.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ACTIONS_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("actions"))
}
