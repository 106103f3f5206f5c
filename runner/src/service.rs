//! The runner as a gRPC service: the `Execution` API over a socket, with
//! health checking and server reflection, configured from a file, reloading
//! its flows when the file changes, and draining in-flight calls on shutdown.

use crate::flows::{FlowSnapshot, LoadedFlows};
use crate::http::{AddressPolicy, GuardedHttp};
use crate::records::{RecordSpool, push_forever, record_of};
use crate::report::{Effects, LogLine, Outcome, RunReport};
use crate::slot::{SlotRun, run_slot};
use crate::{RunLimits, RunnerError, Sandbox, SandboxConfig, Trigger};
use actions_proto::runner::v1 as pb;
use pb::execution_server::{Execution, ExecutionServer};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

/// The runner's settings file (TOML). Unknown keys are errors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerSettings {
    /// Address to listen on, e.g. `127.0.0.1:50061`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Bearer token that callers of the execution API must present. Empty:
    /// no check (only for a runner bound to loopback).
    #[serde(default)]
    pub token: String,
    /// A flows snapshot (JSON), reloaded when it changes. With a control
    /// plane, optional: the starting point until its first snapshot.
    #[serde(default)]
    pub flows_file: Option<PathBuf>,
    /// The control plane: flows are watched from it and run records pushed to it.
    #[serde(default)]
    pub control_plane: Option<String>,
    /// Presented to the control plane on RunnerSync (its `sync_token`).
    #[serde(default)]
    pub sync_token: String,
    /// Folder of compiled modules, `<sha256>.wasm`.
    pub modules_dir: PathBuf,
    /// Where compiled plugin machine code is cached.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Runs in flight at once.
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
}

/// `[records]` in the settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSettings {
    /// Folder of the on-disk spool. Without one, no records are kept.
    #[serde(default)]
    pub spool_dir: Option<PathBuf>,
    /// Most records spooled; past it the oldest are dropped (default 100,000).
    #[serde(default)]
    pub max_spooled: Option<usize>,
}

/// `[fetch]` in the settings.
#[derive(Debug, Clone, Deserialize)]
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

impl RunnerSettings {
    /// Parses a settings file; `ACTIONS_RUNNER_LISTEN`, `ACTIONS_RUNNER_TOKEN`,
    /// `ACTIONS_CONTROL_PLANE` and `ACTIONS_SYNC_TOKEN` override what it says.
    pub fn from_file(path: &std::path::Path) -> Result<Self, RunnerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RunnerError::Config(format!("reading {}: {e}", path.display())))?;
        let mut settings: RunnerSettings = toml::from_str(&text)
            .map_err(|e| RunnerError::Config(format!("{}: {e}", path.display())))?;
        if let Ok(listen) = std::env::var("ACTIONS_RUNNER_LISTEN") {
            settings.listen = listen;
        }
        if let Ok(token) = std::env::var("ACTIONS_RUNNER_TOKEN") {
            settings.token = token;
        }
        if let Ok(control_plane) = std::env::var("ACTIONS_CONTROL_PLANE") {
            settings.control_plane = Some(control_plane).filter(|c| !c.is_empty());
        }
        if let Ok(token) = std::env::var("ACTIONS_SYNC_TOKEN") {
            settings.sync_token = token;
        }
        Ok(settings)
    }

    /// The control plane, when there is one.
    pub fn control_plane_link(&self) -> Option<crate::sync::ControlPlaneLink> {
        self.control_plane
            .as_ref()
            .map(|url| crate::sync::ControlPlaneLink {
                url: url.clone(),
                sync_token: self.sync_token.clone(),
            })
    }
}

/// Everything the service shares between calls.
pub struct RunnerState {
    sandbox: Sandbox,
    flows: RwLock<Arc<LoadedFlows>>,
    settings: RunnerSettings,
    spool: Option<Arc<RecordSpool>>,
    runner_id: String,
    metrics: crate::telemetry::Metrics,
}

impl RunnerState {
    /// Builds the sandbox (with the guarded HTTP transport) and loads the flows.
    pub fn new(settings: RunnerSettings) -> Result<Arc<Self>, RunnerError> {
        let mut sandbox = Sandbox::new(SandboxConfig {
            max_concurrent_runs: settings.max_concurrent_runs,
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
        let flows = match &settings.flows_file {
            Some(file) => LoadedFlows::load(
                FlowSnapshot::from_file(file)?,
                &sandbox,
                &settings.modules_dir,
            )?,
            None if settings.control_plane.is_some() => LoadedFlows::load(
                FlowSnapshot {
                    revision: 0,
                    tenants: Default::default(),
                },
                &sandbox,
                &settings.modules_dir,
            )?,
            None => {
                return Err(RunnerError::Config(
                    "set flows_file, control_plane, or both: the runner has no other source of flows".into(),
                ));
            }
        };
        std::fs::create_dir_all(&settings.modules_dir).map_err(|e| {
            RunnerError::Config(format!("creating {}: {e}", settings.modules_dir.display()))
        })?;
        let spool = match &settings.records.spool_dir {
            Some(dir) => Some(RecordSpool::open(
                dir,
                settings.records.max_spooled.unwrap_or(100_000),
            )?),
            None => None,
        };
        let runner_id = if settings.runner_id.is_empty() {
            format!("runner-{}", std::process::id())
        } else {
            settings.runner_id.clone()
        };
        Ok(Arc::new(Self {
            sandbox,
            flows: RwLock::new(Arc::new(flows)),
            settings,
            spool,
            runner_id,
            metrics: crate::telemetry::Metrics::new(),
        }))
    }

    /// This runner's name in run records and to the control plane.
    pub fn runner_id(&self) -> &str {
        &self.runner_id
    }

    /// Where compiled modules live (and fetched ones are cached).
    pub fn modules_dir(&self) -> &std::path::Path {
        &self.settings.modules_dir
    }

    /// Loads every module of `snapshot` and serves it from the next call on.
    /// Blocking: call it from a blocking thread.
    pub fn install(&self, snapshot: FlowSnapshot) -> Result<(), RunnerError> {
        let flows = LoadedFlows::load(snapshot, &self.sandbox, &self.settings.modules_dir)?;
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

    /// A module by hash: one the flows use, or one in the modules folder.
    /// Blocking (file read and, the first time, a compile): call it from a
    /// blocking thread.
    fn module_by_hash(&self, sha256: &str) -> Result<crate::ActionModule, CallError> {
        if let Some(module) = self.current_flows().module(sha256) {
            self.metrics.record_module_load(true);
            return Ok(module.clone());
        }
        self.metrics.record_module_load(false);
        let unknown = || CallError::UnknownModule(sha256.to_owned());
        if !is_sha256(sha256) {
            return Err(unknown());
        }
        let path = self.settings.modules_dir.join(format!("{sha256}.wasm"));
        let wasm = std::fs::read(&path).map_err(|_| unknown())?;
        let module = self.sandbox.load(&wasm).map_err(|_| unknown())?;
        if module.sha256() == sha256 {
            Ok(module)
        } else {
            Err(unknown())
        }
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

/// Serves the execution API, health and reflection on `listener` until
/// `shutdown` completes; in-flight calls then finish before this returns.
pub async fn serve(
    state: Arc<RunnerState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RunnerError> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<ExecutionServer<ExecutionService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(actions_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| RunnerError::Config(format!("reflection: {e}")))?;
    let max_request = state.settings.max_request_bytes;
    let execution = ExecutionServer::new(ExecutionService {
        state: Arc::clone(&state),
    })
    .max_decoding_message_size(max_request);

    let mut background = Vec::new();
    if state.settings.flows_file.is_some() {
        background.push(tokio::spawn(watch_flows_file(Arc::clone(&state))));
    }
    if let Some(control_plane) = state.settings.control_plane_link() {
        background.push(tokio::spawn(crate::sync::watch_forever(
            Arc::clone(&state),
            control_plane.clone(),
        )));
        if let Some(spool) = &state.spool {
            background.push(tokio::spawn(push_forever(
                Arc::clone(spool),
                control_plane.clone(),
            )));
        }
    }
    // Nagle's algorithm with delayed ACKs adds ~40 ms to every small
    // request/response pair: turn it off on every accepted connection.
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |stream| {
            stream.and_then(|stream| {
                stream.set_nodelay(true)?;
                Ok(stream)
            })
        },
    );
    let served = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(reflection)
        .add_service(execution)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;
    // Whatever is not pushed yet stays in the spool for the next start.
    for task in background {
        task.abort();
    }
    if let Some(spool) = state.spool.clone() {
        let _ = tokio::task::spawn_blocking(move || spool.close()).await;
    }
    served.map_err(|e| RunnerError::Config(format!("serving: {e}")))
}

/// Polls the flows file and reloads it when it changes: a published change
/// is served within half a second.
async fn watch_flows_file(state: Arc<RunnerState>) {
    let Some(file) = state.settings.flows_file.clone() else {
        return;
    };
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut seen: Option<SystemTime> = modified(&file);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let now = modified(&file);
        if now == seen {
            continue;
        }
        seen = now;
        let reloading = Arc::clone(&state);
        match tokio::task::spawn_blocking(move || reloading.reload()).await {
            Ok(Ok(revision)) => tracing::info!(revision, "flows reloaded"),
            Ok(Err(error)) => {
                tracing::warn!(%error, "flows file rejected; serving the previous flows")
            }
            Err(error) => tracing::warn!(%error, "flows reload task failed"),
        }
    }
}

/// Why a call was refused. The one place where errors become gRPC statuses.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No or wrong bearer token.
    #[error("missing or invalid runner token; send `authorization: Bearer <token>`")]
    Unauthenticated,
    /// The tenant has no flows on this runner.
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    /// Not a trigger of the catalog.
    #[error("{0}")]
    UnknownTrigger(#[from] crate::UnknownTrigger),
    /// The event is not a JSON object.
    #[error("event_json is not a JSON object: {0}")]
    BadEvent(String),
    /// The config is not JSON.
    #[error("config_json is not JSON: {0}")]
    BadConfig(String),
    /// No module with that hash on this runner.
    #[error("no module with sha256 {0:?} on this runner")]
    UnknownModule(String),
    /// The runner failed; details are in its log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<CallError> for Status {
    fn from(error: CallError) -> Self {
        let message = error.to_string();
        match error {
            CallError::Unauthenticated => Status::unauthenticated(message),
            CallError::UnknownTenant(_) | CallError::UnknownModule(_) => Status::not_found(message),
            CallError::UnknownTrigger(_) | CallError::BadEvent(_) | CallError::BadConfig(_) => {
                Status::invalid_argument(message)
            }
            CallError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// The `Execution` service.
pub struct ExecutionService {
    state: Arc<RunnerState>,
}

impl ExecutionService {
    /// Spools the run's record (before answering: a record is never lost to a
    /// crash after the caller got its answer) and builds the response.
    async fn finish(
        &self,
        tenant: &str,
        trigger: Trigger,
        slot: SlotRun,
        test: bool,
    ) -> Result<Response<pb::ExecuteResponse>, Status> {
        let run_id = run_id();
        self.state.metrics.record_slot(trigger.as_str(), &slot);
        if let Some(spool) = &self.state.spool {
            let record = record_of(
                &run_id,
                &self.state.runner_id,
                tenant,
                trigger.as_str(),
                &slot,
                test,
            );
            // A page-cache write of about a kilobyte, on this thread (see records.rs).
            if let Err(error) = spool.append(&record) {
                tracing::error!(%error, run_id, "could not spool the run record");
            }
        }
        Ok(Response::new(slot_response(run_id, slot)))
    }

    /// A module for a test run: from the flows, the modules folder, or
    /// (when it is in neither) fetched from the control plane by hash.
    async fn test_module(&self, sha256: &str) -> Result<crate::ActionModule, CallError> {
        let load = |state: Arc<RunnerState>, sha256: String| async move {
            tokio::task::spawn_blocking(move || state.module_by_hash(&sha256))
                .await
                .map_err(|e| CallError::Internal(format!("loading the module: {e}")))?
        };
        match load(Arc::clone(&self.state), sha256.to_owned()).await {
            Err(CallError::UnknownModule(_)) if is_sha256(sha256) => {
                let Some(link) = self.state.settings.control_plane_link() else {
                    return Err(CallError::UnknownModule(sha256.to_owned()));
                };
                let fetched = async {
                    let mut client = link.connect().await?;
                    crate::sync::fetch_module(&mut client, sha256, &self.state.settings.modules_dir)
                        .await
                };
                if let Err(error) = fetched.await {
                    tracing::warn!(%error, sha256, "could not fetch a module for a test run");
                    return Err(CallError::UnknownModule(sha256.to_owned()));
                }
                load(Arc::clone(&self.state), sha256.to_owned()).await
            }
            other => other,
        }
    }

    fn authorise<T>(&self, request: &Request<T>) -> Result<(), CallError> {
        let expected = &self.state.settings.token;
        if expected.is_empty() {
            return Ok(());
        }
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Length first, then every byte: no early exit on the first difference.
        let same = presented.len() == expected.len()
            && presented
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(CallError::Unauthenticated)
        }
    }
}

/// A hash names a file: nothing but 64 lower-case hex digits may.
fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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
        let budget = Duration::from_millis(self.state.settings.execute_budget_ms);
        let span = tracing::info_span!(
            "execute",
            tenant = %request.tenant,
            trigger = %trigger,
            traceparent = %request.traceparent,
            bindings = bindings.len(),
            decision = tracing::field::Empty,
        );
        crate::telemetry::adopt_parent(&span, &request.traceparent, &request.tracestate);
        let slot = run_slot(
            &self.state.sandbox,
            |sha| flows.module(sha).cloned(),
            bindings,
            trigger,
            &event,
            budget,
        )
        .instrument(span.clone())
        .await;
        span.record("decision", slot.decision());
        self.finish(&request.tenant, trigger, slot, false).await
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
        // tenant only labels its record.
        let module = self.test_module(&request.module_sha256).await?;
        let binding = crate::flows::Binding {
            id: "test".into(),
            action_slug: String::new(),
            action_version: String::new(),
            module_sha256: module.sha256().to_owned(),
            config,
            fail_open: false,
            limits: RunLimits::default(),
            secrets: Map::new(),
        };
        let budget = Duration::from_millis(self.state.settings.execute_budget_ms);
        let slot = run_slot(
            &self.state.sandbox,
            |_| Some(module.clone()),
            &[binding],
            trigger,
            &event,
            budget,
        )
        .await;
        self.finish(&request.tenant, trigger, slot, true).await
    }

    async fn execute_bindings(
        &self,
        request: Request<pb::ExecuteBindingsRequest>,
    ) -> Result<Response<pb::ExecuteResponse>, Status> {
        self.authorise(&request)?;
        let request = request.into_inner();
        let trigger: Trigger = request.trigger.parse().map_err(CallError::from)?;
        let event = parse_event(&request.event_json)?;
        let mut bindings = Vec::with_capacity(request.bindings.len());
        let mut modules = std::collections::HashMap::new();
        for wire in request.bindings {
            let binding = crate::sync::binding(&request.tenant, wire)
                .map_err(|e| CallError::BadConfig(e.to_string()))?;
            let module = self.test_module(&binding.module_sha256).await?;
            modules.insert(binding.module_sha256.clone(), module);
            bindings.push(binding);
        }
        let budget = Duration::from_millis(self.state.settings.execute_budget_ms);
        let slot = run_slot(
            &self.state.sandbox,
            |sha| modules.get(sha).cloned(),
            &bindings,
            trigger,
            &event,
            budget,
        )
        .await;
        self.finish(&request.tenant, trigger, slot, true).await
    }
}

fn slot_response(run_id: String, slot: SlotRun) -> pb::ExecuteResponse {
    let json = |map: &Map<String, Value>| Value::Object(map.clone()).to_string();
    let Effects {
        access_token_claims,
        id_token_claims,
        scopes_added,
        scopes_removed,
        app_metadata,
        user_metadata,
    } = &slot.effects;
    pb::ExecuteResponse {
        run_id,
        decision: if slot.deny_reason.is_some() {
            pb::Decision::Deny
        } else {
            pb::Decision::Allow
        } as i32,
        deny_reason: slot.deny_reason.clone().unwrap_or_default(),
        access_token_claims_json: json(access_token_claims),
        id_token_claims_json: json(id_token_claims),
        scopes_added: scopes_added.clone(),
        scopes_removed: scopes_removed.clone(),
        app_metadata_json: json(app_metadata),
        user_metadata_json: json(user_metadata),
        bindings: slot
            .bindings
            .iter()
            .map(|run| binding_result(&run.binding, run.report.as_ref(), run.failed_open))
            .collect(),
        duration_us: micros(slot.duration),
    }
}

fn binding_result(
    binding: &crate::flows::Binding,
    report: Option<&RunReport>,
    failed_open: bool,
) -> pb::BindingResult {
    let outcome = match report.map(|r| &r.outcome) {
        None => pb::Outcome::Skipped,
        Some(Outcome::Allowed) => pb::Outcome::Allowed,
        Some(Outcome::Denied { .. }) => pb::Outcome::Denied,
        Some(Outcome::OutOfFuel) => pb::Outcome::OutOfFuel,
        Some(Outcome::DeadlineExceeded) => pb::Outcome::DeadlineExceeded,
        Some(Outcome::MemoryLimitExceeded) => pb::Outcome::MemoryLimitExceeded,
        Some(Outcome::LogLimitExceeded) => pb::Outcome::LogLimitExceeded,
        Some(Outcome::GuestError { .. }) => pb::Outcome::GuestError,
        Some(Outcome::HostError { .. }) => pb::Outcome::HostError,
    };
    let error = report
        .and_then(|r| r.outcome.error_text())
        .unwrap_or_default();
    pb::BindingResult {
        binding_id: binding.id.clone(),
        action_slug: binding.action_slug.clone(),
        action_version: binding.action_version.clone(),
        module_sha256: binding.module_sha256.clone(),
        outcome: outcome as i32,
        error,
        failed_open,
        duration_us: report.map_or(0, |r| micros(r.duration)),
        fuel: report.map_or(0, |r| r.fuel_consumed),
        logs: report.map_or_else(Vec::new, |r| r.logs.iter().map(log_line).collect()),
    }
}

fn log_line(line: &LogLine) -> pb::LogLine {
    pb::LogLine {
        level: line.level.as_str().into(),
        origin: line.origin.as_str().into(),
        message: line.message.clone(),
        timestamp_ms: line.timestamp_ms,
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
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
