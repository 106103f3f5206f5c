//! The `Execution` gRPC API that auth backends call at each trigger point:
//! `Execute` runs a tenant's slot; `ExecuteAction` and `ExecuteBindings`
//! are test runs (the Test tab, the flow-builder test). Every call is
//! admitted first (its tenant's share of its lane, see `admission`); a call
//! that finds no room is answered "overloaded" and runs nothing. Every call
//! that runs leaves a run record in the spool before it is answered.

mod errors;
pub mod response;
mod server;

pub use errors::CallError;
pub use server::serve;

use crate::admission::Permit;
use crate::control_plane::{ControlPlaneLink, modules};
use crate::flows::Binding;
use crate::limits::RunLimits;
use crate::replay::RunInputs;
use crate::sandbox::ActionModule;
use crate::slot::{SlotRun, run_slot};
use crate::state::{RunnerState, is_sha256};
use actions_proto::bearer;
use actions_proto::catalog::Trigger;
use actions_proto::overload::Lane;
use actions_proto::runner::v1 as pb;
use pb::execution_server::Execution;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

/// The `Execution` service.
pub struct ExecutionService {
    state: Arc<RunnerState>,
}

impl ExecutionService {
    /// Serves calls from `state`.
    pub fn new(state: Arc<RunnerState>) -> Self {
        Self { state }
    }

    fn budget(&self) -> Duration {
        Duration::from_millis(self.state.settings().execute_budget_ms)
    }

    /// Spools the run's record (before answering: a record is never lost to a
    /// crash after the caller got its answer) and answers.
    fn finish(
        &self,
        tenant: &str,
        trigger: Trigger,
        event: &Value,
        slot: SlotRun,
        test: bool,
    ) -> Response<pb::ExecuteResponse> {
        self.state.metrics.record_slot(trigger.as_str(), &slot);
        let answer = response::response_of(run_id(), &slot);
        if let Some(spool) = &self.state.spool {
            let record = response::record_of(
                answer.clone(),
                &slot,
                Some(event).filter(|_| self.state.settings().records.keeps_replay_data()),
                self.state.runner_id(),
                tenant,
                trigger.as_str(),
                test,
                slot.duration,
            );
            // A page-cache write of about a kilobyte, on this thread (see spool.rs).
            if let Err(error) = spool.append(&record) {
                tracing::error!(%error, run_id = %answer.run_id, "could not spool the run record");
            }
        }
        Response::new(answer)
    }

    /// A module for a test run: from the flows, the modules folder, or
    /// (when it is in neither) fetched from the control plane by hash.
    async fn test_module(&self, sha256: &str) -> Result<ActionModule, CallError> {
        let load = |state: Arc<RunnerState>, sha256: String| async move {
            tokio::task::spawn_blocking(move || state.module_by_hash(&sha256))
                .await
                .map_err(|e| CallError::Internal(format!("loading the module: {e}")))
        };
        let unknown = || CallError::UnknownModule(sha256.to_owned());
        if let Some(module) = load(Arc::clone(&self.state), sha256.to_owned()).await? {
            return Ok(module);
        }
        if !is_sha256(sha256) {
            return Err(unknown());
        }
        let Some(link) = ControlPlaneLink::from_settings(self.state.settings()) else {
            return Err(unknown());
        };
        let fetched = async {
            let mut client = link.connect().await?;
            modules::fetch(&mut client, sha256, self.state.modules_dir()).await
        };
        if let Err(error) = fetched.await {
            tracing::warn!(%error, sha256, "could not fetch a module for a test run");
            return Err(unknown());
        }
        load(Arc::clone(&self.state), sha256.to_owned())
            .await?
            .ok_or_else(unknown)
    }

    /// Room for one call of `tenant` in `lane`, or the overloaded answer.
    async fn admit(&self, tenant: &str, lane: Lane) -> Result<Permit, CallError> {
        self.state
            .admission
            .admit(tenant, lane)
            .await
            .map_err(|overloaded| {
                self.state.metrics.record_overloaded(&overloaded);
                tracing::debug!(tenant, %overloaded, "call refused");
                CallError::Overloaded(overloaded)
            })
    }

    fn authorise<T>(&self, request: &Request<T>) -> Result<(), CallError> {
        let settings = self.state.settings();
        let expected = &settings.token;
        // `serve` only starts without a token on loopback, when told to.
        if expected.is_empty() && settings.insecure_no_auth {
            return Ok(());
        }
        match bearer::presented(request.metadata()) {
            Some(token) if bearer::same_secret(token, expected) => Ok(()),
            _ => Err(CallError::Unauthenticated),
        }
    }
}

fn parse_event(json: &str) -> Result<Value, CallError> {
    match serde_json::from_str::<Value>(json) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(other) => Err(CallError::BadEvent(format!("got {}", kind_of(&other)))),
        Err(e) => Err(CallError::BadEvent(e.to_string())),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[tonic::async_trait]
impl Execution for ExecutionService {
    async fn execute(
        &self,
        request: Request<pb::ExecuteRequest>,
    ) -> Result<Response<pb::ExecuteResponse>, Status> {
        self.authorise(&request)?;
        let request = request.into_inner();
        let trigger: Trigger = request.trigger.parse().map_err(CallError::from)?;
        let event = parse_event(&request.event_json)?;
        let flows = self.state.current_flows();
        let bindings = flows
            .slot(&request.tenant, trigger)
            .ok_or_else(|| CallError::UnknownTenant(request.tenant.clone()))?;
        let span = tracing::info_span!(
            "execute",
            tenant = %request.tenant,
            trigger = %trigger,
            traceparent = %request.traceparent,
            bindings = bindings.len(),
            decision = tracing::field::Empty,
        );
        crate::telemetry::adopt_parent(&span, &request.traceparent, &request.tracestate);
        let permit = self.admit(&request.tenant, Lane::Production).await?;
        let slot = run_slot(
            &self.state.sandbox,
            permit.cpu_share(),
            |sha| flows.module(sha).cloned(),
            bindings,
            trigger,
            &event,
            self.budget(),
        )
        .instrument(span.clone())
        .await;
        span.record("decision", slot.decision());
        let answer = self.finish(&request.tenant, trigger, &event, slot, false);
        drop(permit);
        Ok(answer)
    }

    async fn execute_action(
        &self,
        request: Request<pb::ExecuteActionRequest>,
    ) -> Result<Response<pb::ExecuteResponse>, Status> {
        self.authorise(&request)?;
        let request = request.into_inner();
        let trigger: Trigger = request.trigger.parse().map_err(CallError::from)?;
        let event = parse_event(&request.event_json)?;
        let config = if request.config_json.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str(&request.config_json)
                .map_err(|e| CallError::BadConfig(e.to_string()))?
        };
        // A test run may name a tenant that has nothing bound (yet): the
        // tenant only labels its record, and is who the test lane's share
        // is counted for.
        let permit = self.admit(&request.tenant, Lane::Test).await?;
        let module = self.test_module(&request.module_sha256).await?;
        let binding = Binding {
            id: "test".into(),
            action_slug: request.action_slug.clone(),
            action_version: request.action_version.clone(),
            module_sha256: module.sha256().to_owned(),
            config,
            fail_open: false,
            limits: RunLimits::default(),
            secrets: crate::flows::secrets_from_wire(request.secrets),
            replay: None,
        };
        let slot = run_slot(
            &self.state.sandbox,
            permit.cpu_share(),
            |_| Some(module.clone()),
            &[binding],
            trigger,
            &event,
            self.budget(),
        )
        .await;
        let answer = self.finish(&request.tenant, trigger, &event, slot, true);
        drop(permit);
        Ok(answer)
    }

    async fn execute_bindings(
        &self,
        request: Request<pb::ExecuteBindingsRequest>,
    ) -> Result<Response<pb::ExecuteResponse>, Status> {
        self.authorise(&request)?;
        let request = request.into_inner();
        let trigger: Trigger = request.trigger.parse().map_err(CallError::from)?;
        let event = parse_event(&request.event_json)?;
        let permit = self.admit(&request.tenant, Lane::Test).await?;
        if !request.replay.is_empty() && request.replay.len() != request.bindings.len() {
            return Err(CallError::BadConfig(format!(
                "replay: {} bindings' inputs for {} bindings",
                request.replay.len(),
                request.bindings.len()
            ))
            .into());
        }
        let mut replay = request.replay.iter().map(RunInputs::from_wire);
        let mut bindings = Vec::with_capacity(request.bindings.len());
        let mut modules = HashMap::new();
        for wire in request.bindings {
            let mut binding = Binding::from_wire(&request.tenant, wire)
                .map_err(|e| CallError::BadConfig(e.to_string()))?;
            binding.replay = replay.next().map(Arc::new);
            let module = self.test_module(&binding.module_sha256).await?;
            modules.insert(binding.module_sha256.clone(), module);
            bindings.push(binding);
        }
        let slot = run_slot(
            &self.state.sandbox,
            permit.cpu_share(),
            |sha| modules.get(sha).cloned(),
            &bindings,
            trigger,
            &event,
            self.budget(),
        )
        .await;
        let answer = self.finish(&request.tenant, trigger, &event, slot, true);
        drop(permit);
        Ok(answer)
    }
}

/// 128 random bits as hex: idempotency key of the run's record.
fn run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let half = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    format!("{:016x}{:016x}", half(), half())
}
