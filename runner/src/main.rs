//! `actions-runner --config runner.toml`: the execution service auth
//! backends call at each trigger point.

use actions_runner::service::{RunnerSettings, RunnerState, serve};
use anyhow::Context as _;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "actions-runner",
    version,
    about = "Runs tenants' Actions at the trigger points of sign-in and sign-up flows"
)]
struct Args {
    /// The settings file (TOML).
    #[arg(long, short, env = "ACTIONS_RUNNER_CONFIG")]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _telemetry = actions_runner::telemetry::init("actions-runner")
        .map_err(|e| anyhow::anyhow!("starting telemetry: {e}"))?;
    let settings = RunnerSettings::from_file(&args.config)?;
    let listen = settings.listen.clone();
    // Compiling the plugin and the modules is CPU work: off the async threads.
    let state = tokio::task::spawn_blocking(move || RunnerState::new(settings))
        .await
        .context("starting the runner")??;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, "runner listening");
    serve(state, listener, actions_telemetry::shutdown_signal()).await?;
    tracing::info!("runner stopped; in-flight calls drained");
    Ok(())
}
