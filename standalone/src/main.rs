//! `actions-standalone`: the embedded default. The control plane (SQLite in
//! a data folder) and one runner watching it, in one process, with tokens
//! generated on first start and kept in `<data>/secrets.toml`. With
//! `--demo` it loads a `demo` tenant with the starters published and
//! attached, through the same gRPC API everyone else uses.

mod demo;

use actions_control_plane::auth::Secrets;
use actions_control_plane::store::Store;
use actions_control_plane::{ControlPlane, TestRunnerSettings, api};
use actions_runner::service::{RunnerSettings, RunnerState};
use anyhow::Context as _;
use clap::Parser;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
}

/// Generated on first start; kept so that tokens survive restarts.
#[derive(Serialize, Deserialize)]
struct StandaloneSecrets {
    operator_token: String,
    sync_token: String,
    runner_token: String,
    #[serde(default)]
    demo_token: String,
}

fn random_token(prefix: &str) -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("{prefix}_{}", hex::encode(bytes)))
}

fn load_secrets(path: &Path) -> anyhow::Result<StandaloneSecrets> {
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return toml::from_str(&text).with_context(|| format!("{}", path.display()));
    }
    let secrets = StandaloneSecrets {
        operator_token: random_token("op")?,
        sync_token: random_token("sync")?,
        runner_token: random_token("run")?,
        demo_token: String::new(),
    };
    save_secrets(path, &secrets)?;
    Ok(secrets)
}

fn save_secrets(path: &Path, secrets: &StandaloneSecrets) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("writing {}", temporary.display()))?;
    file.write_all(toml::to_string(secrets)?.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _telemetry = actions_telemetry::init("actions-standalone")
        .map_err(|e| anyhow::anyhow!("starting telemetry: {e}"))?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let data = std::fs::canonicalize(&args.data_dir)?;
    let secrets_path = data.join("secrets.toml");
    let mut secrets = load_secrets(&secrets_path)?;

    let cp_listener = tokio::net::TcpListener::bind(&args.control_plane_listen)
        .await
        .with_context(|| format!("listening on {}", args.control_plane_listen))?;
    let runner_listener = tokio::net::TcpListener::bind(&args.runner_listen)
        .await
        .with_context(|| format!("listening on {}", args.runner_listen))?;
    let cp_address = cp_listener.local_addr()?;
    let runner_address = runner_listener.local_addr()?;

    let database = format!("sqlite://{}", data.join("control-plane.db").display());
    let store = Store::connect(&database).await?;
    let control_plane = ControlPlane::new(
        store,
        Secrets {
            operator_token: secrets.operator_token.clone(),
            sync_token: secrets.sync_token.clone(),
        },
        Some(data.join("cache")),
        Some(&TestRunnerSettings {
            url: format!("http://{runner_address}"),
            token: secrets.runner_token.clone(),
        }),
    )
    .await?;

    let runner_settings: RunnerSettings = toml::from_str(&format!(
        "listen = {listen:?}\ntoken = {token:?}\ncontrol_plane = {cp:?}\nsync_token = {sync:?}\n\
         modules_dir = {modules:?}\ncache_dir = {cache:?}\nrunner_id = \"standalone\"\n\
         [records]\nspool_dir = {spool:?}\n",
        listen = runner_address.to_string(),
        token = secrets.runner_token,
        cp = format!("http://{cp_address}"),
        sync = secrets.sync_token,
        modules = data.join("modules").display().to_string(),
        cache = data.join("cache").display().to_string(),
        spool = data.join("spool").display().to_string(),
    ))?;
    std::fs::create_dir_all(&runner_settings.modules_dir)?;
    let runner = tokio::task::spawn_blocking(move || RunnerState::new(runner_settings))
        .await
        .context("starting the runner")??;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let cp_task = tokio::spawn(api::serve(
        Arc::new(control_plane),
        cp_listener,
        until_stopped(stopped.clone()),
    ));
    let runner_task = tokio::spawn(actions_runner::service::serve(
        runner,
        runner_listener,
        until_stopped(stopped.clone()),
    ));

    let cp_url = format!("http://{cp_address}");
    if args.demo {
        if secrets.demo_token.is_empty() {
            secrets.demo_token = demo::create_tenant(&cp_url, &secrets.operator_token).await?;
            save_secrets(&secrets_path, &secrets)?;
        }
        demo::load(&cp_url, &secrets.demo_token, &args.starters).await?;
    }
    print_welcome(&args, &data, cp_address, runner_address, &secrets);

    actions_telemetry::shutdown_signal().await;
    let _ = stop.send(true);
    cp_task.await??;
    runner_task.await??;
    Ok(())
}

fn print_welcome(
    args: &Args,
    data: &Path,
    cp: std::net::SocketAddr,
    runner: std::net::SocketAddr,
    secrets: &StandaloneSecrets,
) {
    println!();
    println!("Actions is running (data in {}):", data.display());
    println!("  control plane  http://{cp}   (management API, RunnerSync; reflection on)");
    println!("  runner         http://{runner}   (execution API)");
    println!("Tokens (also in {}):", data.join("secrets.toml").display());
    println!("  operator  {}", secrets.operator_token);
    println!("  runner    {}", secrets.runner_token);
    if args.demo {
        println!("  tenant 'demo'  {}", secrets.demo_token);
        println!();
        println!("The demo tenant has the starters published and attached:");
        println!("  login.pre-credential-check  domain-allowlist (example.com, example.org)");
        println!("  login.post-login            custom-claim");
        println!("  registration.post-create    webhook-emit (fails open)");
        println!();
        println!("Try a login (in another terminal):");
        println!(
            "  target/release/action trigger login.post-login --tenant demo --server http://{runner} \\\n    --token {} --event {}/custom-claim/events/gold-user.json",
            secrets.runner_token,
            args.starters.display()
        );
    } else {
        println!();
        println!("Start with --demo for a tenant with the starters attached.");
    }
    println!();
    println!("Ctrl-C stops both (in-flight calls finish first).");
}
