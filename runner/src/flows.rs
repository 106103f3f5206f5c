//! Flows as a runner sees them: for each tenant and trigger slot, the
//! ordered bindings to run, and the compiled modules they name. A snapshot
//! comes from a JSON file (`FlowSnapshot`) or, binding by binding, from the
//! control plane's wire form ([`Binding::from_wire`]).

use crate::error::RunnerError;
use crate::limits::RunLimits;
use crate::replay::RunInputs;
use crate::sandbox::{ActionModule, Sandbox};
use actions_proto::catalog::Trigger;
use actions_proto::runner::v1 as wire;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

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
    /// No tenant at all, at revision 0: what a runner serves before its first
    /// snapshot arrives.
    pub fn empty() -> Self {
        Self {
            revision: 0,
            tenants: BTreeMap::new(),
        }
    }

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
    /// Only in a replay: the record its run reads from.
    #[serde(skip)]
    pub replay: Option<Arc<RunInputs>>,
}

impl Binding {
    /// A binding as the control plane sends it, as the runner runs it. A
    /// limit of 0 on the wire means the runner's default for that field.
    pub fn from_wire(tenant: &str, b: wire::Binding) -> Result<Self, RunnerError> {
        let config: Value = if b.config_json.trim().is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_str(&b.config_json).map_err(|e| {
                RunnerError::Config(format!(
                    "tenant {tenant}, binding {}: config_json: {e}",
                    b.id
                ))
            })?
        };
        Ok(Binding {
            id: b.id,
            action_slug: b.action_slug,
            action_version: b.action_version,
            module_sha256: b.module_sha256,
            config,
            fail_open: b.fail_open,
            limits: b
                .limits
                .map_or_else(RunLimits::default, |l| limits_from_wire(&l)),
            secrets: secrets_from_wire(b.secrets),
            replay: None,
        })
    }
}

impl Binding {
    /// A binding whose wire form could not be read: it keeps its place in
    /// the slot and names no module, so it fails at run time as a binding
    /// whose module did not load (fail closed: the policy is unknown).
    pub fn unreadable(id: String, action_slug: String, action_version: String) -> Self {
        Binding {
            id,
            action_slug,
            action_version,
            module_sha256: String::new(),
            config: Value::Null,
            fail_open: false,
            limits: RunLimits::default(),
            secrets: serde_json::Map::new(),
            replay: None,
        }
    }
}

/// Secrets from the wire, as `event.secrets` holds them: text by name.
pub fn secrets_from_wire(
    secrets: std::collections::HashMap<String, String>,
) -> serde_json::Map<String, Value> {
    secrets
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect()
}

/// Limits from the wire: every field that is 0 takes the default.
pub fn limits_from_wire(l: &wire::Limits) -> RunLimits {
    fn given_or<T: PartialEq + Default>(value: T, default: T) -> T {
        if value == T::default() {
            default
        } else {
            value
        }
    }
    let d = RunLimits::default();
    RunLimits {
        fuel: given_or(l.fuel, d.fuel),
        deadline_ms: given_or(l.deadline_ms, d.deadline_ms),
        memory_bytes: given_or(l.memory_bytes, d.memory_bytes),
        log_bytes: given_or(l.log_bytes, d.log_bytes),
        effect_bytes: given_or(l.effect_bytes, d.effect_bytes),
        fetch_calls: given_or(l.fetch_calls, d.fetch_calls),
        fetch_request_bytes: given_or(l.fetch_request_bytes, d.fetch_request_bytes),
        fetch_response_bytes: given_or(l.fetch_response_bytes, d.fetch_response_bytes),
        fetch_timeout_ms: given_or(l.fetch_timeout_ms, d.fetch_timeout_ms),
    }
}

/// Limits as the wire carries them, every field given.
pub fn limits_to_wire(l: &RunLimits) -> wire::Limits {
    wire::Limits {
        fuel: l.fuel,
        deadline_ms: l.deadline_ms,
        memory_bytes: l.memory_bytes,
        log_bytes: l.log_bytes,
        fetch_calls: l.fetch_calls,
        effect_bytes: l.effect_bytes,
        fetch_request_bytes: l.fetch_request_bytes,
        fetch_response_bytes: l.fetch_response_bytes,
        fetch_timeout_ms: l.fetch_timeout_ms,
    }
}

/// Reads and loads one module, checking that its hash is its name.
fn load_module(sandbox: &Sandbox, dir: &Path, sha256: &str) -> Result<ActionModule, RunnerError> {
    let path = dir.join(format!("{sha256}.wasm"));
    let wasm = std::fs::read(&path)
        .map_err(|e| RunnerError::InvalidModule(format!("reading {}: {e}", path.display())))?;
    let module = sandbox.load(&wasm)?;
    if module.sha256() != sha256 {
        return Err(RunnerError::InvalidModule(format!(
            "{} has sha256 {}, not the {sha256} its name says",
            path.display(),
            module.sha256(),
        )));
    }
    Ok(module)
}

/// A snapshot with its modules loaded into the sandbox. A module that does
/// not load (missing, not an Action, made for another plugin) fails only
/// the bindings that use it, each as its policy says: one tenant's broken
/// module never keeps another tenant's flows from being served.
pub struct LoadedFlows {
    /// The snapshot.
    pub snapshot: FlowSnapshot,
    modules: HashMap<String, ActionModule>,
    /// Modules that did not load, with why.
    failed: HashMap<String, String>,
}

impl LoadedFlows {
    /// Loads every module the snapshot names from `modules_dir/<sha256>.wasm`,
    /// checking that each file's hash is its name. Never fails as a whole:
    /// see [`LoadedFlows::load_failures`].
    pub fn load(snapshot: FlowSnapshot, sandbox: &Sandbox, modules_dir: &Path) -> Self {
        let mut modules = HashMap::new();
        let mut failed = HashMap::new();
        for (tenant, flows) in &snapshot.tenants {
            for binding in flows.slots.values().flatten() {
                let sha256 = &binding.module_sha256;
                if modules.contains_key(sha256) {
                    continue;
                }
                let error = match failed.get(sha256) {
                    Some(error) => String::clone(error),
                    None => match load_module(sandbox, modules_dir, sha256) {
                        Ok(module) => {
                            modules.insert(sha256.clone(), module);
                            continue;
                        }
                        Err(error) => {
                            let error = error.to_string();
                            failed.insert(sha256.clone(), error.clone());
                            error
                        }
                    },
                };
                tracing::warn!(tenant, binding = %binding.id, sha256, %error, "a binding's module did not load; the binding fails as its policy says");
            }
        }
        Self {
            snapshot,
            modules,
            failed,
        }
    }

    /// The modules that did not load, by hash, with why.
    pub fn load_failures(&self) -> &HashMap<String, String> {
        &self.failed
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_limits_on_the_wire_mean_the_default() {
        let given = wire::Binding {
            id: "b".into(),
            config_json: r#"{"a":1}"#.into(),
            limits: Some(wire::Limits {
                deadline_ms: 100,
                fetch_timeout_ms: 50,
                effect_bytes: 10,
                ..wire::Limits::default()
            }),
            ..wire::Binding::default()
        };
        let converted = Binding::from_wire("acme", given).expect("valid");
        assert_eq!(converted.limits.deadline_ms, 100);
        assert_eq!(converted.limits.fetch_timeout_ms, 50);
        assert_eq!(converted.limits.effect_bytes, 10);
        assert_eq!(converted.limits.fuel, RunLimits::default().fuel);
        assert_eq!(converted.config, serde_json::json!({ "a": 1 }));
        let broken = wire::Binding {
            config_json: "{".into(),
            ..wire::Binding::default()
        };
        assert!(matches!(
            Binding::from_wire("acme", broken),
            Err(RunnerError::Config(_))
        ));
    }
}
