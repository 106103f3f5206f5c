//! The embedded default, as a library: the control plane (SQLite in a data
//! folder) and one runner watching it, started in one process, with tokens
//! generated on first start and kept in `<data>/secrets.toml`. The
//! `actions-standalone` binary and the CLI's end-to-end tests start it.

mod demo;

use actions_control_plane::auth::Secrets;
use actions_control_plane::sealing::{SealingKeys, parse_key};
use actions_control_plane::store::Store;
use actions_control_plane::{ControlPlane, TestRunnerSettings, api};
use actions_runner::settings::RunnerSettings;
use actions_runner::state::RunnerState;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the embedded service did not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    /// The data folder or the secrets file.
    #[error("{0}")]
    Data(String),
    /// The control plane.
    #[error("control plane: {0}")]
    ControlPlane(#[from] actions_control_plane::Error),
    /// The runner.
    #[error("runner: {0}")]
    Runner(#[from] actions_runner::RunnerError),
    /// Loading the demo tenant: a call to the control plane failed, or a
    /// starter's module is not text.
    #[error("demo: {0}")]
    Demo(String),
    /// A starter the demo loads has a wrong `action.json`.
    #[error("demo: {0}")]
    DemoManifest(#[from] actions_proto::manifest::ManifestError),
    /// A starter the demo loads has sources that cannot be read as a package.
    #[error("demo: {0}")]
    DemoSource(#[from] actions_compiler::CompileError),
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// Database, modules, caches, spooled run records and secrets.
    pub data_dir: PathBuf,
    /// Where the control plane listens (port 0: any free port).
    pub control_plane_listen: String,
    /// Where the runner listens.
    pub runner_listen: String,
    /// Load a `demo` tenant with the starters published and attached.
    pub demo: bool,
    /// The starters the demo loads.
    pub starters: PathBuf,
    /// The admin console's built files, served on the control plane's port.
    pub console_dir: Option<PathBuf>,
    /// Whether run records keep what a replay needs (the runner's
    /// `records.replay_data`).
    pub replay_data: bool,
}

/// Generated on first start; kept so that tokens survive restarts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StandaloneSecrets {
    /// Manages tenants.
    pub operator_token: String,
    /// What the runner presents to the control plane.
    pub sync_token: String,
    /// What auth backends (and `action trigger`) present to the runner.
    pub runner_token: String,
    /// The `demo` tenant's token, once the demo is loaded.
    #[serde(default)]
    pub demo_token: String,
    /// Seals Actions' secrets in the database (generated on the first
    /// start that has none: data folders from before secrets get one).
    #[serde(default)]
    pub secrets_key: String,
}

/// The running service.
pub struct Running {
    /// The control plane's address.
    pub control_plane: SocketAddr,
    /// The runner's address.
    pub runner: SocketAddr,
    /// The data folder, absolute.
    pub data: PathBuf,
    /// Its tokens.
    pub secrets: StandaloneSecrets,
    /// Whether this start generated any of them (the first start, or the
    /// first with `--demo`): only then are they worth printing.
    pub generated_tokens: bool,
    stop: tokio::sync::watch::Sender<bool>,
    control_plane_task: tokio::task::JoinHandle<Result<(), actions_control_plane::Error>>,
    runner_task: tokio::task::JoinHandle<Result<(), actions_runner::RunnerError>>,
}

fn data_error(what: &str, path: &Path, error: impl std::fmt::Display) -> StandaloneError {
    StandaloneError::Data(format!("{what} {}: {error}", path.display()))
}

fn random_token(prefix: &str) -> Result<String, StandaloneError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| StandaloneError::Data(format!("no randomness: {e}")))?;
    Ok(format!("{prefix}_{}", hex::encode(bytes)))
}

/// The secrets file's tokens, and whether they were generated just now.
fn load_secrets(path: &Path) -> Result<(StandaloneSecrets, bool), StandaloneError> {
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| data_error("reading", path, e))?;
        let mut secrets: StandaloneSecrets =
            toml::from_str(&text).map_err(|e| data_error("reading", path, e))?;
        if secrets.secrets_key.is_empty() {
            secrets.secrets_key = actions_control_plane::sealing::generate_key()?;
            save_secrets(path, &secrets)?;
        }
        return Ok((secrets, false));
    }
    let secrets = StandaloneSecrets {
        operator_token: random_token("op")?,
        sync_token: random_token("sync")?,
        runner_token: random_token("run")?,
        demo_token: String::new(),
        secrets_key: actions_control_plane::sealing::generate_key()?,
    };
    save_secrets(path, &secrets)?;
    Ok((secrets, true))
}

/// Creates `dir` (and its missing parents) readable by this user only: it
/// holds the database, the secrets, the modules and the run records. A
/// folder that exists already keeps its mode: it may be shared on purpose.
fn create_private_dir(dir: &Path) -> Result<(), StandaloneError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| data_error("creating", dir, e))
}

fn save_secrets(path: &Path, secrets: &StandaloneSecrets) -> Result<(), StandaloneError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let temporary = path.with_extension("tmp");
    let text = toml::to_string(secrets).map_err(|e| data_error("writing", path, e))?;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|e| data_error("writing", path, e))
}

async fn bind(address: &str) -> Result<tokio::net::TcpListener, StandaloneError> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| StandaloneError::Data(format!("listening on {address}: {e}")))
}

/// Starts the control plane and the runner; with `demo`, loads the demo tenant.
pub async fn start(options: &Options) -> Result<Running, StandaloneError> {
    create_private_dir(&options.data_dir)?;
    let data = std::fs::canonicalize(&options.data_dir)
        .map_err(|e| data_error("opening", &options.data_dir, e))?;
    let secrets_path = data.join("secrets.toml");
    let (mut secrets, mut generated_tokens) = load_secrets(&secrets_path)?;
    create_private_dir(&data.join("cache"))?;

    let cp_listener = bind(&options.control_plane_listen).await?;
    let runner_listener = bind(&options.runner_listen).await?;
    let local = |listener: &tokio::net::TcpListener| {
        listener
            .local_addr()
            .map_err(|e| StandaloneError::Data(format!("listening: {e}")))
    };
    let cp_address = local(&cp_listener)?;
    let runner_address = local(&runner_listener)?;

    let database = format!("sqlite://{}", data.join("control-plane.db").display());
    let store = Store::connect(&database).await?;
    let control_plane = ControlPlane::new(
        store,
        Secrets {
            operator_token: secrets.operator_token.clone(),
            sync_token: secrets.sync_token.clone(),
            insecure_no_auth: false,
        },
        Some(data.join("cache")),
        Some(&TestRunnerSettings {
            url: format!("http://{runner_address}"),
            token: secrets.runner_token.clone(),
        }),
    )
    .await?
    .open_secrets(Some(SealingKeys::new(
        &parse_key(&secrets.secrets_key, "secrets.toml: secrets_key")?,
        &[],
    )))
    .await?
    .with_console(options.console_dir.clone());

    let mut runner_settings = RunnerSettings::new(data.join("modules"));
    runner_settings.listen = runner_address.to_string();
    runner_settings.token = secrets.runner_token.clone();
    runner_settings.control_plane = Some(format!("http://{cp_address}"));
    runner_settings.sync_token = secrets.sync_token.clone();
    runner_settings.cache_dir = Some(data.join("cache"));
    runner_settings.runner_id = "standalone".into();
    runner_settings.records.spool_dir = Some(data.join("spool"));
    runner_settings.records.replay_data = Some(options.replay_data);
    create_private_dir(&runner_settings.modules_dir)?;
    let runner = tokio::task::spawn_blocking(move || RunnerState::new(runner_settings))
        .await
        .map_err(|e| StandaloneError::Data(format!("starting the runner: {e}")))??;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let control_plane_task = tokio::spawn(api::serve(
        Arc::new(control_plane),
        cp_listener,
        until_stopped(stopped.clone()),
    ));
    let runner_task = tokio::spawn(actions_runner::execution::serve(
        runner,
        runner_listener,
        until_stopped(stopped),
    ));

    if options.demo {
        let cp_url = format!("http://{cp_address}");
        if secrets.demo_token.is_empty() {
            secrets.demo_token = demo::create_tenant(&cp_url, &secrets.operator_token).await?;
            save_secrets(&secrets_path, &secrets)?;
            generated_tokens = true;
        }
        demo::load(&cp_url, &secrets.demo_token, &options.starters).await?;
    }
    Ok(Running {
        control_plane: cp_address,
        runner: runner_address,
        data,
        secrets,
        generated_tokens,
        stop,
        control_plane_task,
        runner_task,
    })
}

impl Running {
    /// Stops both, letting calls in flight finish.
    pub async fn stop(self) -> Result<(), StandaloneError> {
        let _ = self.stop.send(true);
        let joined = |e: tokio::task::JoinError| StandaloneError::Data(format!("stopping: {e}"));
        self.control_plane_task.await.map_err(joined)??;
        self.runner_task.await.map_err(joined)??;
        Ok(())
    }
}
