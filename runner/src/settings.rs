//! The runner's settings: typed, with defaults, built in code
//! ([`RunnerSettings::new`]) or read from a TOML file
//! ([`RunnerSettings::from_file`]). The library never reads the environment:
//! the `actions-runner` binary applies its `ACTIONS_*` overrides.

use crate::admission::{AdmissionLimits, LaneLimits};
use crate::error::RunnerError;
use crate::limits::RunLimits;
use crate::sandbox::SandboxConfig;
use crate::spool::SpoolBounds;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The runner's settings file (TOML). Unknown keys are errors.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerSettings {
    /// Address to listen on, e.g. `127.0.0.1:50061`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Bearer token that callers of the execution API must present. Empty:
    /// the runner refuses to start, unless `insecure_no_auth`.
    #[serde(default)]
    pub token: String,
    /// Serve without the tokens left empty (`token`: any caller; `sync_token`:
    /// present none to the control plane). Local development only: refused
    /// unless the runner listens on loopback.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_no_auth: bool,
    /// A flows snapshot (JSON), reloaded when it changes. With a control
    /// plane, optional: the starting point until its first snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flows_file: Option<PathBuf>,
    /// The control plane: flows are watched from it and run records pushed to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<String>,
    /// Presented to the control plane on RunnerSync (its `sync_token`). With
    /// a control plane, empty is refused unless `insecure_no_auth`.
    #[serde(default)]
    pub sync_token: String,
    /// Folder of compiled modules, `<sha256>.wasm`.
    pub modules_dir: PathBuf,
    /// Where compiled plugin machine code is cached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
    /// Runs in flight at once (`Execute`; test runs have slots of their
    /// own, see [`AdmissionSettings::test_max_concurrency`]).
    #[serde(default = "default_concurrency")]
    pub max_concurrent_runs: u32,
    /// Budget of one `Execute` call across all its bindings, in milliseconds.
    #[serde(default = "default_budget")]
    pub execute_budget_ms: u64,
    /// Largest request accepted, in bytes.
    #[serde(default = "default_max_request")]
    pub max_request_bytes: usize,
    /// Operator ceilings over every binding's limits.
    #[serde(default = "default_ceilings")]
    pub ceilings: RunLimits,
    /// `api.fetch`.
    #[serde(default)]
    pub fetch: FetchSettings,
    /// Run records.
    #[serde(default)]
    pub records: RecordSettings,
    /// This runner's name in run records (default: `runner-<pid>`).
    #[serde(default)]
    pub runner_id: String,
    /// Per-tenant shares of the runs in flight (see [`AdmissionSettings`]).
    #[serde(default)]
    pub admission: AdmissionSettings,
}

/// `[records]` in the settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSettings {
    /// Folder of the on-disk spool. Without one, no records are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spool_dir: Option<PathBuf>,
    /// Most records spooled; past it the oldest are dropped (default 100,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_spooled: Option<usize>,
    /// Most bytes spooled; past it the oldest are dropped (default 512 MiB).
    /// Refused records set aside in `rejected/` keep at most an eighth of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_spooled_bytes: Option<u64>,
    /// Whether records keep what a replay needs: the event (the user's
    /// profile as the auth backend sent it), configs and what the run read
    /// (default true). Off, records say they keep none, and `ReplayRun`
    /// refuses them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_data: Option<bool>,
}

impl RecordSettings {
    /// Whether records keep replay data (the default).
    pub fn keeps_replay_data(&self) -> bool {
        self.replay_data.unwrap_or(true)
    }

    /// The spool's bounds, defaults filled in.
    pub fn spool_bounds(&self) -> SpoolBounds {
        SpoolBounds {
            max_records: self.max_spooled.unwrap_or(DEFAULT_MAX_SPOOLED),
            max_bytes: self.max_spooled_bytes.unwrap_or(DEFAULT_MAX_SPOOLED_BYTES),
        }
    }
}

/// `[fetch]` in the settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchSettings {
    /// Whether Actions may fetch at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// CIDRs allowed although the deny list covers them (e.g. an internal API).
    #[serde(default)]
    pub allow_cidrs: Vec<String>,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_cidrs: Vec::new(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:50061".into()
}
fn default_concurrency() -> u32 {
    256
}
fn default_budget() -> u64 {
    10_000
}
fn default_max_request() -> usize {
    1024 * 1024
}
fn default_ceilings() -> RunLimits {
    SandboxConfig::default().ceilings
}
fn default_true() -> bool {
    true
}

/// Most records spooled when the settings do not say.
pub const DEFAULT_MAX_SPOOLED: usize = 100_000;
/// Most bytes spooled when the settings do not say.
pub const DEFAULT_MAX_SPOOLED_BYTES: u64 = 512 * 1024 * 1024;

impl RunnerSettings {
    /// Every default, with modules kept in `modules_dir`. Set the fields
    /// that differ (a control plane, a flows file, a token, …) on the result.
    pub fn new(modules_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: default_listen(),
            token: String::new(),
            insecure_no_auth: false,
            flows_file: None,
            control_plane: None,
            sync_token: String::new(),
            modules_dir: modules_dir.into(),
            cache_dir: None,
            max_concurrent_runs: default_concurrency(),
            execute_budget_ms: default_budget(),
            max_request_bytes: default_max_request(),
            ceilings: default_ceilings(),
            fetch: FetchSettings::default(),
            records: RecordSettings::default(),
            runner_id: String::new(),
            admission: AdmissionSettings::default(),
        }
    }

    /// Parses a settings file.
    pub fn from_file(path: &Path) -> Result<Self, RunnerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RunnerError::Config(format!("reading {}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| match e {
            RunnerError::Config(detail) => {
                RunnerError::Config(format!("{}: {detail}", path.display()))
            }
            other => other,
        })
    }

    /// Parses settings in TOML.
    pub fn from_toml(text: &str) -> Result<Self, RunnerError> {
        toml::from_str(text).map_err(|e| RunnerError::Config(e.to_string()))
    }

    /// The settings as a TOML file would say them (what `from_toml` reads back).
    pub fn to_toml(&self) -> Result<String, RunnerError> {
        toml::to_string(self).map_err(|e| RunnerError::Config(e.to_string()))
    }

    /// The token settings that are empty although this runner needs them.
    pub fn missing_tokens(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.token.is_empty() {
            missing.push("token");
        }
        if self.control_plane.is_some() && self.sync_token.is_empty() {
            missing.push("sync_token");
        }
        missing
    }

    /// This runner's name: the configured one, or `runner-<pid>`.
    pub fn effective_runner_id(&self) -> String {
        if self.runner_id.is_empty() {
            format!("runner-{}", std::process::id())
        } else {
            self.runner_id.clone()
        }
    }
}

// ---- Admission (issue 13, capacity): per-tenant shares of the pool. ----

/// `[admission]` in the settings: how much of the runner one tenant may
/// hold, how long a call waits for room, and the test runs' own slots.
/// Past them a call is answered "overloaded" (`RESOURCE_EXHAUSTED`, see
/// `actions_proto::overload`) and nothing runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionSettings {
    /// `Execute` calls one tenant may have in flight at once; 0: a quarter
    /// of `max_concurrent_runs` (at least 1).
    #[serde(default)]
    pub per_tenant_max_concurrency: u32,
    /// Calls per tenant (and lane) waiting for room; past it, refused at once.
    #[serde(default = "default_queue_per_tenant")]
    pub per_tenant_queue: u32,
    /// Longest a call waits for room, in milliseconds; 0: no wait.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
    /// How soon the overloaded answer's `RetryInfo` tells a caller it may
    /// come back to this runner, in milliseconds (another runner: at once).
    /// A runner is full only of long runs (short ones drain in
    /// microseconds), so room comes back on that scale, not the wait's; and
    /// callers honouring it keep refused calls from becoming a flood of
    /// their own.
    #[serde(default = "default_retry_after_ms")]
    pub retry_after_ms: u64,
    /// Test runs (`ExecuteAction`, `ExecuteBindings`) in flight at once, in
    /// pool slots of their own on top of `max_concurrent_runs`; 0: a
    /// sixteenth of `max_concurrent_runs` (at least 1).
    #[serde(default)]
    pub test_max_concurrency: u32,
    /// Test runs one tenant may have in flight at once.
    #[serde(default = "default_test_per_tenant")]
    pub test_per_tenant_max_concurrency: u32,
}

impl Default for AdmissionSettings {
    fn default() -> Self {
        Self {
            per_tenant_max_concurrency: 0,
            per_tenant_queue: default_queue_per_tenant(),
            max_wait_ms: default_max_wait_ms(),
            retry_after_ms: default_retry_after_ms(),
            test_max_concurrency: 0,
            test_per_tenant_max_concurrency: default_test_per_tenant(),
        }
    }
}

fn default_queue_per_tenant() -> u32 {
    16
}
fn default_max_wait_ms() -> u64 {
    50
}
fn default_retry_after_ms() -> u64 {
    1000
}
fn default_test_per_tenant() -> u32 {
    2
}

impl RunnerSettings {
    /// The admission limits these settings make.
    pub fn admission_limits(&self) -> AdmissionLimits {
        let production = self.max_concurrent_runs.max(1) as usize;
        let share = |set: u32, default: usize| match set {
            0 => default.max(1),
            n => n as usize,
        };
        let admission = &self.admission;
        let test = share(admission.test_max_concurrency, production / 16);
        AdmissionLimits {
            production: LaneLimits {
                capacity: production,
                per_tenant: share(admission.per_tenant_max_concurrency, production / 4)
                    .min(production),
                queue_per_tenant: admission.per_tenant_queue as usize,
            },
            test: LaneLimits {
                capacity: test,
                per_tenant: share(admission.test_per_tenant_max_concurrency, 1).min(test),
                queue_per_tenant: admission.per_tenant_queue as usize,
            },
            max_wait: Duration::from_millis(admission.max_wait_ms),
            retry_after: Duration::from_millis(admission.retry_after_ms),
        }
    }

    /// Pool slots the sandbox needs: production runs and test runs.
    pub fn pool_slots(&self) -> u32 {
        let limits = self.admission_limits();
        u32::try_from(limits.production.capacity + limits.test.capacity).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_toml_whatever_the_paths_hold() {
        // A path with quotes, backslashes and non-ASCII text: TOML escaping,
        // not Rust's Debug formatting, must carry it.
        let mut settings = RunnerSettings::new("/tmp/a \"quoted\" \\ dir/modulés");
        settings.flows_file = Some("/tmp/flows\t.json".into());
        settings.control_plane = Some("http://127.0.0.1:1".into());
        settings.records.spool_dir = Some("/tmp/spool'd".into());
        settings.ceilings.fuel = 7;
        let read = RunnerSettings::from_toml(&settings.to_toml().expect("serialises"))
            .expect("reads back");
        assert_eq!(read.modules_dir, settings.modules_dir);
        assert_eq!(read.flows_file, settings.flows_file);
        assert_eq!(read.records.spool_dir, settings.records.spool_dir);
        assert_eq!(read.ceilings, settings.ceilings);
        assert_eq!(read.control_plane, settings.control_plane);
    }

    #[test]
    fn shares_default_to_a_quarter_and_tests_get_slots_of_their_own() {
        let settings = RunnerSettings::new("/m");
        let limits = settings.admission_limits();
        assert_eq!(limits.production.capacity, 256);
        assert_eq!(limits.production.per_tenant, 64);
        assert_eq!(limits.test.capacity, 16);
        assert_eq!(settings.pool_slots(), 256 + 16);
        let mut tiny = RunnerSettings::new("/m");
        tiny.max_concurrent_runs = 1;
        assert_eq!(tiny.admission_limits().production.per_tenant, 1);
        assert_eq!(tiny.admission_limits().test.capacity, 1);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let refused = RunnerSettings::from_toml("modules_dir = \"/m\"\nlisten_on = \"x\"");
        assert!(matches!(refused, Err(RunnerError::Config(_))));
        let defaults = RunnerSettings::from_toml("modules_dir = \"/m\"").expect("minimal");
        assert_eq!(defaults.max_concurrent_runs, default_concurrency());
    }
}
