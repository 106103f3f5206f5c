//! `actions-standalone`: the embedded default. The control plane (SQLite in
//! a data folder) and one runner watching it, in one process. With `--demo`
//! it loads a `demo` tenant with the starters published and attached,
//! through the same gRPC API everyone else uses.

use actions_standalone::{Options, Running};
use clap::Parser;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "actions-standalone",
    version,
    about = "The Actions control plane and one runner in one process, on SQLite"
)]
struct Args {
    /// Where the database, modules, caches, spooled run records and secrets live.
    #[arg(long, env = "ACTIONS_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Where the control plane (management API, RunnerSync) listens.
    #[arg(
        long,
        env = "ACTIONS_CONTROL_PLANE_LISTEN",
        default_value = "127.0.0.1:50051"
    )]
    control_plane_listen: String,
    /// Where the runner (execution API) listens.
    #[arg(long, env = "ACTIONS_RUNNER_LISTEN", default_value = "127.0.0.1:50061")]
    runner_listen: String,
    /// Load a `demo` tenant with the starters published and attached.
    #[arg(long)]
    demo: bool,
    /// The starters the demo loads.
    #[arg(long, default_value = "examples/starters")]
    starters: PathBuf,
    /// The admin console's built files (`./dev console` builds them), served
    /// on the control plane's port; not served when the folder is missing.
    #[arg(long, env = "ACTIONS_CONSOLE_DIR", default_value = "console/dist")]
    console_dir: PathBuf,
    /// Whether run records keep what a replay needs: the event (the user's
    /// profile), configs and what each run read.
    #[arg(long, env = "ACTIONS_REPLAY_DATA", default_value_t = true, action = clap::ArgAction::Set)]
    replay_data: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _telemetry = actions_telemetry::init("actions-standalone")
        .map_err(|e| anyhow::anyhow!("starting telemetry: {e}"))?;
    let console = console_dir(&args.console_dir);
    let running = actions_standalone::start(&Options {
        data_dir: args.data_dir.clone(),
        control_plane_listen: args.control_plane_listen.clone(),
        runner_listen: args.runner_listen.clone(),
        demo: args.demo,
        starters: args.starters.clone(),
        console_dir: console.clone(),
        replay_data: args.replay_data,
    })
    .await?;
    print_welcome(&args, &running, console.is_some());
    actions_telemetry::shutdown_signal().await;
    running.stop().await?;
    Ok(())
}

/// The console's folder when it holds a build; else why not, on stderr.
fn console_dir(dir: &Path) -> Option<PathBuf> {
    if dir.join("index.html").is_file() {
        Some(dir.to_path_buf())
    } else {
        eprintln!(
            "note: no admin console: {} has no index.html (build it with `./dev console`)",
            dir.display()
        );
        None
    }
}

fn print_welcome(args: &Args, running: &Running, console: bool) {
    let (data, cp, runner, secrets): (&Path, _, _, _) = (
        &running.data,
        running.control_plane,
        running.runner,
        &running.secrets,
    );
    println!();
    println!("Actions is running (data in {}):", data.display());
    println!("  control plane  http://{cp}   (management API, RunnerSync; reflection on)");
    println!("  runner         http://{runner}   (execution API)");
    if console {
        println!("  admin console  http://{cp}/   (sign in with a tenant or the operator token)");
    }
    let secrets_file = data.join("secrets.toml");
    // Printed once, when generated: a terminal's scrollback and a service's
    // log are no place to repeat them on every start.
    if running.generated_tokens {
        println!(
            "Tokens, generated now (kept in {}):",
            secrets_file.display()
        );
        println!("  operator  {}", secrets.operator_token);
        println!("  runner    {}", secrets.runner_token);
        if args.demo {
            println!("  tenant 'demo'  {}", secrets.demo_token);
        }
    } else {
        println!("Tokens: in {} (mode 0600)", secrets_file.display());
    }
    if args.demo {
        println!();
        println!("The demo tenant has the starters published and attached:");
        println!("  login.pre-credential-check  domain-allowlist (example.com, example.org)");
        println!("  login.post-login            custom-claim");
        println!("  registration.post-create    webhook-emit (fails open)");
        println!();
        println!("Try a login (in another terminal):");
        println!(
            "  target/release/action trigger login.post-login --tenant demo --server http://{runner} \\\n    --token \"$(sed -n 's/^runner_token = \"\\(.*\\)\"/\\1/p' {})\" \\\n    --event {}/custom-claim/events/gold-user.json",
            secrets_file.display(),
            args.starters.display()
        );
    } else {
        println!();
        println!("Start with --demo for a tenant with the starters attached.");
    }
    println!();
    println!("Ctrl-C stops both (in-flight calls finish first).");
}
