//! Flows as a runner sees them: for each tenant and trigger slot, the
//! ordered bindings to run, and the compiled modules they name.
//!
//! Today the snapshot is read from a JSON file (`FlowSnapshot`); the control
//! plane's watch stream will deliver the same shape.

use crate::{ActionModule, RunLimits, RunnerError, Sandbox, Trigger};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Every tenant's flows at one revision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSnapshot {
    /// The control plane's revision of this configuration.
    #[serde(default)]
    pub revision: u64,
    /// Tenant id → its slots.
    pub tenants: BTreeMap<String, TenantFlows>,
}

impl FlowSnapshot {
    /// Reads and parses a snapshot file (unknown keys are errors).
    pub fn from_file(path: &Path) -> Result<Self, RunnerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RunnerError::Config(format!("reading {}: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| RunnerError::Config(format!("{}: {e}", path.display())))
    }
}

/// One tenant's trigger slots.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFlows {
    /// Trigger slot → bindings, in the order they run.
    pub slots: BTreeMap<Trigger, Vec<Binding>>,
}

/// An Action attached to a slot.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// The binding's id.
    pub id: String,
    /// The Action's slug.
    pub action_slug: String,
    /// The published version it runs.
    pub action_version: String,
    /// Hex SHA-256 of the compiled module.
    pub module_sha256: String,
    /// The configuration, seen as `event.config`.
    #[serde(default)]
    pub config: Value,
    /// On error or timeout: carry on (true) or deny (false, the default).
    #[serde(default)]
    pub fail_open: bool,
    /// Limits for this binding, capped by the runner's ceilings.
    #[serde(default)]
    pub limits: RunLimits,
    /// Secrets, seen as `event.secrets`.
    #[serde(default)]
    pub secrets: serde_json::Map<String, Value>,
}

/// A snapshot with every module loaded into the sandbox.
pub struct LoadedFlows {
    /// The snapshot.
    pub snapshot: FlowSnapshot,
    modules: HashMap<String, ActionModule>,
}

impl LoadedFlows {
    /// Loads every module the snapshot names from `modules_dir/<sha256>.wasm`,
    /// checking that each file's hash is its name.
    pub fn load(
        snapshot: FlowSnapshot,
        sandbox: &Sandbox,
        modules_dir: &Path,
    ) -> Result<Self, RunnerError> {
        let mut modules = HashMap::new();
        for tenant in snapshot.tenants.values() {
            for binding in tenant.slots.values().flatten() {
                if modules.contains_key(&binding.module_sha256) {
                    continue;
                }
                let path = modules_dir.join(format!("{}.wasm", binding.module_sha256));
                let wasm = std::fs::read(&path).map_err(|e| {
                    RunnerError::InvalidModule(format!("reading {}: {e}", path.display()))
                })?;
                let module = sandbox.load(&wasm)?;
                if module.sha256() != binding.module_sha256 {
                    return Err(RunnerError::InvalidModule(format!(
                        "{} has sha256 {}, not the {} its name says",
                        path.display(),
                        module.sha256(),
                        binding.module_sha256
                    )));
                }
                modules.insert(binding.module_sha256.clone(), module);
            }
        }
        Ok(Self { snapshot, modules })
    }

    /// The bindings of a tenant's slot, or `None` for an unknown tenant.
    /// A known tenant with nothing attached to the slot gets an empty list.
    pub fn slot(&self, tenant: &str, trigger: Trigger) -> Option<&[Binding]> {
        let flows = self.snapshot.tenants.get(tenant)?;
        Some(flows.slots.get(&trigger).map_or(&[], Vec::as_slice))
    }

    /// A loaded module by hash.
    pub fn module(&self, sha256: &str) -> Option<&ActionModule> {
        self.modules.get(sha256)
    }

    /// Whether the tenant exists.
    pub fn has_tenant(&self, tenant: &str) -> bool {
        self.snapshot.tenants.contains_key(tenant)
    }
}
