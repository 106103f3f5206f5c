//! What the runner shares between calls: the sandbox, who may use it now
//! (admission), the flows served now (swapped whole when new ones are
//! installed), the record spool, metrics.

use crate::admission::Admission;
use crate::control_plane::FlowsTarget;
use crate::error::RunnerError;
use crate::flows::{FlowSnapshot, LoadedFlows};
use crate::http::{AddressPolicy, GuardedHttp};
use crate::sandbox::{ActionModule, Sandbox, SandboxConfig};
use crate::settings::RunnerSettings;
use crate::spool::RecordSpool;
use crate::telemetry::Metrics;
use std::path::Path;
use std::sync::{Arc, RwLock};

/// Everything the service shares between calls.
pub struct RunnerState {
    pub(crate) sandbox: Sandbox,
    pub(crate) admission: Admission,
    flows: RwLock<Arc<LoadedFlows>>,
    pub(crate) settings: RunnerSettings,
    pub(crate) spool: Option<Arc<RecordSpool>>,
    runner_id: String,
    pub(crate) metrics: Metrics,
}

impl RunnerState {
    /// Builds the sandbox (with the guarded HTTP transport) and loads the
    /// flows. Blocking (the plugin and every module are compiled): call it
    /// from a blocking thread.
    pub fn new(settings: RunnerSettings) -> Result<Arc<Self>, RunnerError> {
        let mut sandbox = Sandbox::new(SandboxConfig {
            max_concurrent_runs: settings.pool_slots(),
            ceilings: settings.ceilings,
            cache_dir: settings.cache_dir.clone(),
            ..SandboxConfig::default()
        })?;
        if settings.fetch.enabled {
            let allowed = settings
                .fetch
                .allow_cidrs
                .iter()
                .map(|cidr| {
                    cidr.parse().map_err(|e| {
                        RunnerError::Config(format!(
                            "fetch.allow_cidrs: {cidr:?} is not a CIDR: {e}"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            let http = GuardedHttp::new(AddressPolicy { allowed })
                .map_err(|e| RunnerError::Config(format!("starting the HTTP client: {e}")))?;
            sandbox = sandbox.with_fetcher(Arc::new(http));
        }
        let snapshot = match &settings.flows_file {
            Some(file) => FlowSnapshot::from_file(file)?,
            None if settings.control_plane.is_some() => FlowSnapshot::empty(),
            None => {
                return Err(RunnerError::Config(
                    "set flows_file, control_plane, or both: the runner has no other source of flows".into(),
                ));
            }
        };
        let flows = LoadedFlows::load(snapshot, &sandbox, &settings.modules_dir);
        std::fs::create_dir_all(&settings.modules_dir).map_err(|e| {
            RunnerError::Config(format!("creating {}: {e}", settings.modules_dir.display()))
        })?;
        let spool = match &settings.records.spool_dir {
            Some(dir) => Some(RecordSpool::open(dir, settings.records.spool_bounds())?),
            None => None,
        };
        let runner_id = settings.effective_runner_id();
        Ok(Arc::new(Self {
            admission: Admission::new(settings.admission_limits()),
            sandbox,
            flows: RwLock::new(Arc::new(flows)),
            settings,
            spool,
            runner_id,
            metrics: Metrics::new(),
        }))
    }

    /// This runner's name in run records and to the control plane.
    pub fn runner_id(&self) -> &str {
        &self.runner_id
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &RunnerSettings {
        &self.settings
    }

    /// Where compiled modules live (and fetched ones are cached).
    pub fn modules_dir(&self) -> &Path {
        &self.settings.modules_dir
    }

    /// Loads every module of `snapshot` and serves it from the next call on.
    /// Blocking: call it from a blocking thread.
    pub fn install(&self, snapshot: FlowSnapshot) -> Result<(), RunnerError> {
        let flows = LoadedFlows::load(snapshot, &self.sandbox, &self.settings.modules_dir);
        match self.flows.write() {
            Ok(mut current) => *current = Arc::new(flows),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(flows),
        }
        Ok(())
    }

    /// The flows calls are served from now.
    pub fn current_flows(&self) -> Arc<LoadedFlows> {
        match self.flows.read() {
            Ok(flows) => Arc::clone(&flows),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// A module by hash: one the flows use, or one in the modules folder;
    /// `None` when there is no such module here. Blocking (file read and,
    /// the first time, a compile): call it from a blocking thread.
    pub(crate) fn module_by_hash(&self, sha256: &str) -> Option<ActionModule> {
        if let Some(module) = self.current_flows().module(sha256) {
            self.metrics.record_module_load(true);
            return Some(module.clone());
        }
        self.metrics.record_module_load(false);
        if !is_sha256(sha256) {
            return None;
        }
        let path = self.settings.modules_dir.join(format!("{sha256}.wasm"));
        let wasm = std::fs::read(&path).ok()?;
        let module = self.sandbox.load(&wasm).ok()?;
        (module.sha256() == sha256).then_some(module)
    }

    /// Reloads the flows file; on error keeps serving the last good flows.
    pub fn reload(&self) -> Result<u64, RunnerError> {
        let Some(file) = &self.settings.flows_file else {
            return Ok(self.current_flows().snapshot.revision);
        };
        let snapshot = FlowSnapshot::from_file(file)?;
        let revision = snapshot.revision;
        self.install(snapshot)?;
        Ok(revision)
    }
}

impl FlowsTarget for RunnerState {
    fn runner_id(&self) -> &str {
        &self.runner_id
    }

    fn current_snapshot(&self) -> FlowSnapshot {
        self.current_flows().snapshot.clone()
    }

    fn modules_dir(&self) -> &Path {
        &self.settings.modules_dir
    }

    fn install(&self, snapshot: FlowSnapshot) -> Result<(), RunnerError> {
        RunnerState::install(self, snapshot)
    }
}

/// A hash names a file: nothing but 64 lower-case hex digits may.
pub(crate) fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
