//! The control plane's settings: typed, with defaults, read from a TOML
//! file. The library never reads the environment: the
//! `actions-control-plane` binary applies its `ACTIONS_*` overrides.

use crate::Error;
use crate::sealing::{SealingKeys, parse_key};
use actions_proto::limits::CEILINGS;
use actions_proto::runner::v1::Limits;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where test runs go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRunnerSettings {
    /// e.g. `http://127.0.0.1:50061`.
    pub url: String,
    /// The runner's execution token. Empty: refused at start-up, unless
    /// `insecure_no_auth`.
    #[serde(default)]
    pub token: String,
}

/// The most a binding may ask for, per limit (the names of
/// `actions.runner.v1.Limits`); a limit not given keeps its default ceiling
/// (`actions_proto::limits::CEILINGS`). A binding asking for more is refused.
/// Runners cap every run at their own `[ceilings]`: keep these no higher.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingCeilings {
    /// Wasm fuel.
    pub fuel: Option<u64>,
    /// Wall clock, in milliseconds.
    pub deadline_ms: Option<u64>,
    /// Linear memory, in bytes.
    pub memory_bytes: Option<u64>,
    /// Console output, in bytes.
    pub log_bytes: Option<u64>,
    /// Calls to `api.fetch`.
    pub fetch_calls: Option<u32>,
    /// Token claims and metadata patches together, in bytes.
    pub effect_bytes: Option<u64>,
    /// Request body of one `api.fetch`, in bytes.
    pub fetch_request_bytes: Option<u64>,
    /// Response body of one `api.fetch`, in bytes.
    pub fetch_response_bytes: Option<u64>,
    /// Timeout of one `api.fetch`, in milliseconds.
    pub fetch_timeout_ms: Option<u64>,
}

impl BindingCeilings {
    /// The ceilings: each one given, else its default. A ceiling of 0 is
    /// refused: 0 on the wire means "the default", so it would not bound
    /// anything a binding runs with.
    pub fn limits(&self) -> Result<Limits, Error> {
        let d = CEILINGS;
        let ceilings = Limits {
            fuel: self.fuel.unwrap_or(d.fuel),
            deadline_ms: self.deadline_ms.unwrap_or(d.deadline_ms),
            memory_bytes: self.memory_bytes.unwrap_or(d.memory_bytes),
            log_bytes: self.log_bytes.unwrap_or(d.log_bytes),
            fetch_calls: self.fetch_calls.unwrap_or(d.fetch_calls),
            effect_bytes: self.effect_bytes.unwrap_or(d.effect_bytes),
            fetch_request_bytes: self.fetch_request_bytes.unwrap_or(d.fetch_request_bytes),
            fetch_response_bytes: self.fetch_response_bytes.unwrap_or(d.fetch_response_bytes),
            fetch_timeout_ms: self.fetch_timeout_ms.unwrap_or(d.fetch_timeout_ms),
        };
        let zero: Vec<&str> = ceilings
            .fields()
            .into_iter()
            .filter(|(_, value)| *value == 0)
            .map(|(field, _)| field)
            .collect();
        if !zero.is_empty() {
            return Err(Error::Config(format!(
                "binding_ceilings: {} must be above 0",
                zero.join(", ")
            )));
        }
        Ok(ceilings)
    }
}

/// Everything the control plane is told.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlaneSettings {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// `sqlite://<file>` (the default: `sqlite://data/control-plane.db`) or
    /// `postgres://user@host/database`.
    #[serde(default = "default_database_url")]
    pub database_url: String,
    /// Creates tenants and their tokens. Empty: refused at start-up, unless
    /// `insecure_no_auth` (then tenant management is off).
    #[serde(default)]
    pub operator_token: String,
    /// What runners present on RunnerSync. Empty: refused at start-up,
    /// unless `insecure_no_auth` (then any runner may connect).
    #[serde(default)]
    pub sync_token: String,
    /// Serve without the tokens left empty: local development only, refused
    /// unless listening on loopback.
    #[serde(default)]
    pub insecure_no_auth: bool,
    /// Where the compiler caches the plugin's machine code.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// The runner that test runs go to.
    #[serde(default)]
    pub test_runner: Option<TestRunnerSettings>,
    /// The most a binding may ask for.
    #[serde(default)]
    pub binding_ceilings: BindingCeilings,
    /// The admin console's built files (`console/dist`), served beside the
    /// gRPC services on the same port; absent: no console.
    #[serde(default)]
    pub console_dir: Option<PathBuf>,
    /// The key that seals Actions' secrets at rest: 32 random bytes in
    /// base64 or hex (`actions-control-plane generate-secrets-key`). Empty
    /// and no `secrets_key_file`: secrets are off (setting one is refused).
    #[serde(default)]
    pub secrets_key: String,
    /// A file holding that key instead (a mounted Kubernetes Secret).
    #[serde(default)]
    pub secrets_key_file: Option<PathBuf>,
    /// During a rotation, the keys secrets were sealed with before: they
    /// only open. At start every secret is resealed under `secrets_key`;
    /// then they can be dropped.
    #[serde(default)]
    pub previous_secrets_keys: Vec<String>,
}

fn default_listen() -> String {
    "127.0.0.1:50051".into()
}

fn default_database_url() -> String {
    "sqlite://data/control-plane.db".into()
}

impl Default for ControlPlaneSettings {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            database_url: default_database_url(),
            operator_token: String::new(),
            sync_token: String::new(),
            insecure_no_auth: false,
            cache_dir: None,
            test_runner: None,
            binding_ceilings: BindingCeilings::default(),
            console_dir: None,
            secrets_key: String::new(),
            secrets_key_file: None,
            previous_secrets_keys: Vec::new(),
        }
    }
}

impl ControlPlaneSettings {
    /// Reads `path`; without one, every default.
    pub fn load(path: Option<&Path>) -> Result<Self, Error> {
        match path {
            None => Ok(Self::default()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::Config(format!("reading {}: {e}", path.display())))?;
                Self::parse(&text).map_err(|e| match e {
                    Error::Config(message) => {
                        Error::Config(format!("{}: {message}", path.display()))
                    }
                    other => other,
                })
            }
        }
    }

    /// The keys that seal secrets, read and checked; `None`: none given.
    pub fn sealing_keys(&self) -> Result<Option<SealingKeys>, Error> {
        let current = match (&self.secrets_key_file, self.secrets_key.trim()) {
            (Some(_), key) if !key.is_empty() => {
                return Err(Error::Config(
                    "give secrets_key or secrets_key_file, not both".into(),
                ));
            }
            (Some(file), _) => {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    Error::Config(format!("secrets_key_file {}: {e}", file.display()))
                })?;
                parse_key(&text, &format!("secrets_key_file {}", file.display()))?
            }
            (None, "") if self.previous_secrets_keys.is_empty() => return Ok(None),
            (None, "") => {
                return Err(Error::Config(
                    "previous_secrets_keys without a secrets_key: give the new key too".into(),
                ));
            }
            (None, key) => parse_key(key, "secrets_key")?,
        };
        let previous = self
            .previous_secrets_keys
            .iter()
            .enumerate()
            .map(|(i, key)| parse_key(key, &format!("previous_secrets_keys[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(SealingKeys::new(&current, &previous)))
    }

    /// Reads settings from TOML text, and checks them.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let settings: Self = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        settings.binding_ceilings.limits()?;
        settings.sealing_keys()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_ceilings_default_and_are_set_one_by_one() {
        let defaults = ControlPlaneSettings::parse("").expect("no settings");
        assert_eq!(
            defaults.binding_ceilings.limits().expect("ceilings"),
            CEILINGS
        );
        let set =
            ControlPlaneSettings::parse("[binding_ceilings]\nfuel = 5000000000\nfetch_calls = 3\n")
                .expect("ceilings");
        assert_eq!(
            set.binding_ceilings.limits().expect("ceilings"),
            Limits {
                fuel: 5_000_000_000,
                fetch_calls: 3,
                ..CEILINGS
            }
        );
    }

    #[test]
    fn unknown_and_zero_binding_ceilings_are_refused() {
        let unknown = ControlPlaneSettings::parse("[binding_ceilings]\nmemory_mib = 64\n")
            .expect_err("unknown key");
        assert!(unknown.to_string().contains("memory_mib"), "{unknown}");
        let zero =
            ControlPlaneSettings::parse("[binding_ceilings]\ndeadline_ms = 0\n").expect_err("zero");
        assert_eq!(
            zero.to_string(),
            "configuration: binding_ceilings: deadline_ms must be above 0"
        );
    }
}
