//! `action`: build and test Actions locally, in the very sandbox the runner
//! uses.
//!
//! Exit codes: 0 success; 1 the Action did not compile, or an input file is
//! wrong; 2 bad command-line usage; 3 the Action ran but did not reach a
//! decision (a limit or an error), or a test case failed.

mod build;
mod cases;
mod init;
mod manage;
mod output;
mod run;
mod secret_types;
mod trigger;

use clap::{Parser, Subcommand};
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
    let cli = Cli::parse();
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
        Command::Secret(args) => manage::secrets::secret(&args),
    };
    match result {
        Ok(status) => ExitCode::from(status as u8),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(Status::BadInput as u8)
        }
    }
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
