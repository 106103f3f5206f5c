//! The control-plane commands: they call the management API, with a tenant
//! token, or (`action admin`) with the operator token. This file holds what
//! they share: the connection (`Remote`), the profile `action login` and
//! `action admin login` keep, and how a refusal is told ([`Refused`], which
//! `main` prints, and prints as JSON under `--json`); each command group has
//! its own file, named for what it manages.

pub(crate) mod actions;
pub(crate) mod admin;
pub(crate) mod audit;
pub(crate) mod flows;
pub(crate) mod login;
pub(crate) mod replay;
pub(crate) mod runs;
pub(crate) mod secrets;
pub(crate) mod test_runs;

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
    /// Whether the token is the operator's (`action admin`): then the
    /// profile's operator token is the fallback, never the tenant's.
    #[arg(skip)]
    operator: bool,
}

/// What `action login` (the tenant token) and `action admin login` (the
/// operator token) keep: `$XDG_CONFIG_HOME/actions/profile.toml`, mode 0600.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Profile {
    server: String,
    #[serde(default)]
    token: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    operator_token: String,
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
            .unwrap_or(if self.operator {
                profile.operator_token
            } else {
                profile.token
            });
        (server, token)
    }

    async fn channel(&self) -> anyhow::Result<Channel> {
        let (server, token) = self.resolved();
        if token.is_empty() && self.operator {
            bail!(
                "no operator token: pass --token, set ACTIONS_OPERATOR_TOKEN, or run `action admin login --token <operator token>`"
            );
        }
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

/// A refusal from the control plane: its gRPC status code and its reason.
/// Shown as `the control plane refused (NotFound): ...`; under `--json`,
/// `main` prints it as `{"error": "...", "code": "NOT_FOUND"}` as well.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) code: tonic::Code,
    pub(crate) message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the control plane refused ({:?}): {}",
            self.code, self.message
        )
    }
}

impl std::error::Error for Refused {}

/// A refusal from the control plane, as the user should read it.
fn refused(status: tonic::Status) -> anyhow::Error {
    Refused {
        code: status.code(),
        message: status.message().to_owned(),
    }
    .into()
}

/// A gRPC status code by its canonical name, as the README and the gRPC
/// documentation spell it (`NOT_FOUND`): what scripts compare.
pub(crate) fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A time in milliseconds since the Unix epoch, as UTC text
/// (`2026-12-02T01:02:03Z`); empty for 0.
pub(crate) fn time_text(ms: u64) -> String {
    if ms == 0 {
        return String::new();
    }
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rest / 3600, rest % 3600 / 60, rest % 60);
    // Howard Hinnant's days-to-civil.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(work)
}
