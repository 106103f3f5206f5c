//! `actions-runner --config runner.toml`: the execution service auth
//! backends call at each trigger point.

use actions_runner::execution::serve;
use actions_runner::settings::RunnerSettings;
use actions_runner::state::RunnerState;
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
    /// Overrides `listen`.
    #[arg(long, env = "ACTIONS_RUNNER_LISTEN")]
    listen: Option<String>,
    /// Overrides `token` (the execution API's bearer token); empty: the file's.
    #[arg(long, env = "ACTIONS_RUNNER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Overrides `control_plane`; empty: none.
    #[arg(long, env = "ACTIONS_CONTROL_PLANE")]
    control_plane: Option<String>,
    /// Overrides `sync_token`; empty: the file's.
    #[arg(long, env = "ACTIONS_SYNC_TOKEN", hide_env_values = true)]
    sync_token: Option<String>,
    /// Serve without the tokens that are empty (local development only:
    /// refused unless listening on loopback).
    #[arg(long)]
    insecure_no_auth: bool,
}

impl Args {
    /// The settings file with what the command line and environment override.
    fn settings(self) -> anyhow::Result<RunnerSettings> {
        let mut settings = RunnerSettings::from_file(&self.config)?;
        if let Some(listen) = self.listen {
            settings.listen = listen;
        }
        // An empty variable (`ACTIONS_RUNNER_TOKEN=`) is a mistake, never a
        // way to turn authentication off: the file's token stands.
        if let Some(token) = self.token.filter(|t| !t.is_empty()) {
            settings.token = token;
        }
        if let Some(control_plane) = self.control_plane {
            settings.control_plane = Some(control_plane).filter(|c| !c.is_empty());
        }
        if let Some(token) = self.sync_token.filter(|t| !t.is_empty()) {
            settings.sync_token = token;
        }
        settings.insecure_no_auth |= self.insecure_no_auth;
        Ok(settings)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _telemetry = actions_runner::telemetry::init("actions-runner")
        .map_err(|e| anyhow::anyhow!("starting telemetry: {e}"))?;
    let settings = args.settings()?;
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
