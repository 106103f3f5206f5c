//! The control-plane commands: pack, upload, publish, attach, detach, flows,
//! logs, audit and secret. They call the management API with a tenant token. This
//! file holds what they share: the connection (`Remote`), the profile
//! `action login` keeps, and how a refusal is told; each command group has
//! its own file, named for what it manages.

pub(crate) mod actions;
pub(crate) mod audit;
pub(crate) mod flows;
pub(crate) mod login;
pub(crate) mod runs;
pub(crate) mod secrets;

use anyhow::{Context as _, bail};
use clap::Args;
use std::path::PathBuf;
use tonic::transport::Channel;

/// Where the control plane is and who calls it: the flags, else the
/// environment, else the profile `action login` wrote.
#[derive(Args, Debug, Clone)]
pub(crate) struct Remote {
    /// The control plane (default: the profile's, else http://127.0.0.1:50051).
    #[arg(long, env = "ACTIONS_SERVER")]
    server: Option<String>,
    /// A tenant token (default: the profile's; `./dev demo` prints the demo tenant's).
    #[arg(long, env = "ACTIONS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// What `action login` keeps: `$XDG_CONFIG_HOME/actions/profile.toml`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Profile {
    server: String,
    token: String,
}

fn profile_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("actions").join("profile.toml"))
}

fn load_profile() -> Profile {
    profile_path()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| toml::from_str(&text).ok())
        .unwrap_or_default()
}

impl Remote {
    /// The server and token to use.
    fn resolved(&self) -> (String, String) {
        let profile = load_profile();
        let server = self
            .server
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| Some(profile.server).filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "http://127.0.0.1:50051".into());
        let token = self
            .token
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or(profile.token);
        (server, token)
    }

    async fn channel(&self) -> anyhow::Result<Channel> {
        let (server, token) = self.resolved();
        if token.is_empty() {
            bail!(
                "no token: pass --token, set ACTIONS_TOKEN, or run `action login --token <tenant token>`"
            );
        }
        Channel::from_shared(server.clone())
            .with_context(|| format!("--server {server:?} is not a URL"))?
            .connect()
            .await
            .with_context(|| {
                format!(
                    "cannot reach the control plane at {server}; is it running? (./dev demo starts one)"
                )
            })
    }

    fn request<T>(&self, message: T) -> anyhow::Result<tonic::Request<T>> {
        Ok(actions_proto::bearer::request(message, &self.resolved().1)?)
    }
}

/// A refusal from the control plane, as the user should read it.
fn refused(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!(
        "the control plane refused ({:?}): {}",
        status.code(),
        status.message()
    )
}

fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(work)
}
