//! The control plane's settings: typed, with defaults, read from a TOML
//! file. The library never reads the environment: the
//! `actions-control-plane` binary applies its `ACTIONS_*` overrides.

use crate::Error;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where test runs go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRunnerSettings {
    /// e.g. `http://127.0.0.1:50061`.
    pub url: String,
    /// The runner's execution token.
    #[serde(default)]
    pub token: String,
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
    /// Creates tenants and their tokens; empty: tenant management is off.
    #[serde(default)]
    pub operator_token: String,
    /// What runners present on RunnerSync; empty: any runner may connect.
    #[serde(default)]
    pub sync_token: String,
    /// Where the compiler caches the plugin's machine code.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// The runner that test runs go to.
    #[serde(default)]
    pub test_runner: Option<TestRunnerSettings>,
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
            cache_dir: None,
            test_runner: None,
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
                toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
            }
        }
    }
}
