//! `actions-control-plane [--config control-plane.toml]`: the management
//! service, on its own (for a fleet: PostgreSQL, several replicas, runners
//! watching any of them).

use actions_control_plane::auth::Secrets;
use actions_control_plane::store::Store;
use actions_control_plane::{ControlPlane, ControlPlaneSettings, api};
use anyhow::Context as _;
use std::path::PathBuf;
use std::sync::Arc;

const USAGE: &str = "usage: actions-control-plane [--config control-plane.toml] [--insecure-no-auth]\n\
    \x20      actions-control-plane generate-secrets-key\n\
    \x20      actions-control-plane [--config control-plane.toml] reseal-secrets\n\
    --insecure-no-auth    serve without the tokens left empty (local development; loopback only)\n\
    generate-secrets-key  print a new random key for secrets_key (ACTIONS_SECRETS_KEY)\n\
    reseal-secrets        reseal every secret under secrets_key, then exit (a key rotation's last\n\
    \x20                     step, once every replica has the new key; idempotent)";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut insecure_no_auth = false;
    let mut reseal = false;
    let mut config: Option<PathBuf> =
        std::env::var_os("ACTIONS_CONTROL_PLANE_CONFIG").map(PathBuf::from);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => config = args.next().map(PathBuf::from),
            "--insecure-no-auth" => insecure_no_auth = true,
            "reseal-secrets" => reseal = true,
            "generate-secrets-key" => {
                println!("{}", actions_control_plane::sealing::generate_key()?);
                return Ok(());
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    let mut settings = with_environment(ControlPlaneSettings::load(config.as_deref())?);
    settings.insecure_no_auth |= insecure_no_auth;
    if reseal {
        return tokio::runtime::Runtime::new()?.block_on(reseal_secrets(settings));
    }
    tokio::runtime::Runtime::new()?.block_on(run(settings))
}

/// `reseal-secrets`: every secret's data key under the current key.
async fn reseal_secrets(settings: ControlPlaneSettings) -> anyhow::Result<()> {
    let keys = settings
        .sealing_keys()?
        .context("reseal-secrets needs secrets_key (and the previous keys the rows are under)")?;
    let store = Store::connect(&settings.database_url).await?;
    let done = actions_control_plane::reseal_secrets(&store, &keys).await?;
    println!(
        "resealed {} secrets under key {}; {} did not open (see the log)",
        done.resealed,
        keys.current_id(),
        done.failed
    );
    anyhow::ensure!(
        done.failed == 0,
        "{} secrets did not open: they keep their old key",
        done.failed
    );
    Ok(())
}

/// `ACTIONS_CONTROL_PLANE_LISTEN`, `ACTIONS_CONSOLE_DIR`, `ACTIONS_DATABASE_URL`,
/// `ACTIONS_OPERATOR_TOKEN`, `ACTIONS_SYNC_TOKEN`, `ACTIONS_SECRETS_KEY`,
/// `ACTIONS_SECRETS_KEY_FILE` and `ACTIONS_PREVIOUS_SECRETS_KEYS` (comma
/// separated) over the file. An empty
/// variable is a mistake, never a way to turn a token off: the file's stands.
fn with_environment(mut settings: ControlPlaneSettings) -> ControlPlaneSettings {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(listen) = from_env("ACTIONS_CONTROL_PLANE_LISTEN") {
        settings.listen = listen;
    }
    if let Some(dir) = from_env("ACTIONS_CONSOLE_DIR") {
        settings.console_dir = Some(dir.into());
    }
    if let Some(url) = from_env("ACTIONS_DATABASE_URL") {
        settings.database_url = url;
    }
    if let Some(token) = from_env("ACTIONS_OPERATOR_TOKEN") {
        settings.operator_token = token;
    }
    if let Some(token) = from_env("ACTIONS_SYNC_TOKEN") {
        settings.sync_token = token;
    }
    // Either form of the key from the environment replaces both of the file's.
    if let Some(key) = from_env("ACTIONS_SECRETS_KEY") {
        settings.secrets_key = key;
        settings.secrets_key_file = None;
    }
    if let Some(file) = from_env("ACTIONS_SECRETS_KEY_FILE") {
        settings.secrets_key_file = Some(file.into());
        settings.secrets_key = String::new();
    }
    if let Some(keys) = from_env("ACTIONS_PREVIOUS_SECRETS_KEYS") {
        settings.previous_secrets_keys = keys
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
    }
    settings
}

async fn run(settings: ControlPlaneSettings) -> anyhow::Result<()> {
    let _telemetry = actions_telemetry::init("actions-control-plane")
        .map_err(|e| anyhow::anyhow!("starting telemetry: {e}"))?;
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let secrets = Secrets {
        operator_token: settings.operator_token.clone(),
        sync_token: settings.sync_token.clone(),
        insecure_no_auth: settings.insecure_no_auth,
    };
    // Before the database and the compiler: a refusal should not wait on them.
    secrets.check_serving(listener.local_addr()?)?;
    let sealing_keys = settings.sealing_keys()?;
    let store = Store::connect(&settings.database_url).await?;
    tokio::spawn(
        store
            .clone()
            .follow_other_replicas(settings.database_url.clone()),
    );
    let cp = ControlPlane::new(
        store,
        secrets,
        settings.cache_dir.clone(),
        settings.test_runner.as_ref(),
    )
    .await?
    .open_secrets(sealing_keys)
    .await?
    .with_binding_ceilings(settings.binding_ceilings.limits()?)
    .with_console(settings.console_dir.clone());
    let address = listener.local_addr()?;
    tracing::info!(%address, "control plane listening");
    if settings.console_dir.is_some() {
        println!("admin console: http://{address}/");
    }
    api::serve(Arc::new(cp), listener, actions_telemetry::shutdown_signal()).await?;
    tracing::info!("control plane stopped");
    Ok(())
}
