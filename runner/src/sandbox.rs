//! The sandbox: one wasmtime `Engine` per process, one compiled plugin, a
//! cache of compiled Actions, and a fresh `Store` per run.
//!
//! Three lifetimes, never mixed:
//! - per process: [`Sandbox`] (engine, linker, the plugin as an `InstancePre`,
//!   the epoch ticker);
//! - per module: [`ActionModule`] (the compiled Action, keyed by SHA-256);
//! - per run: a `Store<RunState>` with its fuel, epoch deadline, memory
//!   limiter, captured effects and logs, dropped when the run ends.
//!
//! A compiled Action imports the plugin's `memory`, `cabi_realloc` and
//! `invoke`: items owned by a store, which an `InstancePre` cannot hold. So
//! the plugin is pre-linked once and the Action (a few hundred bytes) is
//! instantiated per run against the plugin instance of that run.

use crate::error::RunnerError;
use crate::fetch::HttpFetch;
use crate::host::{self, Completion, RunState, Stop};
use crate::limits::RunLimits;
use crate::replay::{RunInputs, Tape};
use crate::report::{Effects, LogLevel, LogOrigin, Outcome, RunReport};
use actions_plugin_host::{IMPORT_NAMESPACE, PLUGIN_ID_SECTION};
use actions_proto::catalog::Trigger;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::{
    Config, Engine, Extern, Instance, InstancePre, Linker, Module, PoolingAllocationConfig, Store,
    Trap, UpdateDeadline,
};

/// How often the epoch advances: the resolution of wall-clock deadlines, and
/// how often a long run yields its thread to other runs.
const EPOCH_TICK: Duration = Duration::from_millis(2);

/// A run still going after this much wall-clock time is a long run: from
/// then on it runs only in turns (see [`Sandbox::run_in_share`]), so that a
/// tenant's never-ending Actions cannot crowd out everyone's short ones
/// (a sign-in's Action takes about a tenth of a millisecond).
pub const LONG_RUN_AFTER: Duration = Duration::from_millis(10);

/// The export of a compiled Action that runs it.
const ENTRY_EXPORT: &str = "_start";

/// Process-wide settings of a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Runs that may be in flight at once (pool slots are reserved for them).
    pub max_concurrent_runs: u32,
    /// Operator ceilings: no run gets more than these, whatever it asks.
    pub ceilings: RunLimits,
    /// Where compiled plugin machine code is cached between processes.
    pub cache_dir: Option<PathBuf>,
    /// Bytes of each pooled linear memory kept resident (reset with memset
    /// rather than returned to the kernel) between runs: fewer page faults
    /// per run, at up to this much RSS per pool slot ever used.
    pub linear_memory_keep_resident: usize,
    /// How runs get their instances; [`InstanceStrategy::Pooled`] unless
    /// measuring the baseline.
    pub strategy: InstanceStrategy,
    /// Long runs (past [`LONG_RUN_AFTER`]) executing at once, all tenants
    /// together; 0: one fewer than the CPUs (at least one), which leaves a
    /// CPU to the short runs whatever the long ones do.
    pub long_run_threads: usize,
}

/// How each run gets its instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InstanceStrategy {
    /// What the runner ships: pooling allocator with copy-on-write slots
    /// kept resident, the plugin pre-linked once (`InstancePre`), and each
    /// Action compiled once and cached by hash.
    #[default]
    Pooled,
    /// The baseline the benchmarks measure the pooled path against: a first
    /// integration of wasmtime. Default (on-demand) allocator, the plugin
    /// linked by name on every run, and every `load` compiles the Action
    /// again (no cache). Same limits, same host functions, same results.
    Naive,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            max_concurrent_runs: 256,
            ceilings: RunLimits::from(&actions_proto::limits::CEILINGS),
            cache_dir: None,
            linear_memory_keep_resident: 16 * 1024 * 1024,
            strategy: InstanceStrategy::Pooled,
            long_run_threads: 0,
        }
    }
}

/// A compiled Action, ready to run many times. Cheap to clone.
#[derive(Clone)]
pub struct ActionModule {
    inner: Arc<ActionModuleInner>,
}

struct ActionModuleInner {
    sha256: String,
    module: Module,
    /// For each import of the module, in order, the plugin export it takes.
    imports: Vec<String>,
}

impl ActionModule {
    /// The module's SHA-256 (hex), its identity.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }
}

impl std::fmt::Debug for ActionModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionModule")
            .field("sha256", &self.inner.sha256)
            .finish()
    }
}

/// One run to perform.
pub struct RunRequest {
    /// The Action.
    pub action: ActionModule,
    /// Where in the flow it runs; decides which `api` methods it may call.
    pub trigger: Trigger,
    /// The event (user, request, client, ...), a JSON object.
    pub event: Value,
    /// The binding's configuration, seen as `event.config`.
    pub config: Value,
    /// Secrets, seen as `event.secrets`.
    pub secrets: Map<String, Value>,
    /// Limits asked for; the sandbox's ceilings cap them.
    pub limits: RunLimits,
    /// A replay: the clocks, the random seed and the fetch answers come
    /// from this record (see [`crate::replay`]). `None`: a live run.
    pub replay: Option<Arc<RunInputs>>,
}

/// Runs Actions. One per process; share it behind an `Arc`.
pub struct Sandbox {
    engine: Engine,
    strategy: InstanceStrategy,
    /// Kept for [`InstanceStrategy::Naive`], which links the plugin per run.
    linker: Linker<RunState>,
    plugin: InstancePre<RunState>,
    ceilings: RunLimits,
    modules: RwLock<HashMap<String, ActionModule>>,
    fetcher: Option<Arc<dyn HttpFetch>>,
    /// Turns at the CPU for long runs, all tenants together.
    long_runs: Arc<Semaphore>,
}

/// A share of the CPU that long runs take turns in (one turn at a time): a
/// tenant's, so that its long runs queue behind each other and not behind
/// other tenants'.
pub type CpuShare = Arc<Semaphore>;

/// The turn a long run holds while it executes: its share's and the
/// sandbox's, given back at every epoch tick.
type Turn = Arc<Mutex<Option<(Option<OwnedSemaphorePermit>, Option<OwnedSemaphorePermit>)>>>;

impl Sandbox {
    /// Builds the engine and compiles the plugin (seconds, or milliseconds
    /// from `cache_dir`). Starts the epoch ticker, which stops by itself when
    /// the sandbox is dropped.
    pub fn new(config: SandboxConfig) -> Result<Self, RunnerError> {
        let engine = Engine::new(&engine_config(&config)?).map_err(RunnerError::Engine)?;
        let plugin_module =
            actions_plugin_host::compile_plugin(&engine, config.cache_dir.as_deref())
                .map_err(|e| RunnerError::Plugin(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        host::add_to_linker(&mut linker).map_err(RunnerError::Engine)?;
        let plugin = linker
            .instantiate_pre(&plugin_module)
            .map_err(|e| RunnerError::Plugin(format!("linking the plugin: {e}")))?;
        start_epoch_ticker(&engine);
        let long_run_threads = match config.long_run_threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .max(1),
            n => n,
        };
        Ok(Self {
            engine,
            strategy: config.strategy,
            linker,
            plugin,
            ceilings: config.ceilings,
            modules: RwLock::new(HashMap::new()),
            fetcher: None,
            long_runs: Arc::new(Semaphore::new(long_run_threads)),
        })
    }

    /// Gives `api.fetch` a transport. Without one, every fetch is refused.
    pub fn with_fetcher(mut self, fetcher: Arc<dyn HttpFetch>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// The operator ceilings every run is capped by.
    pub fn ceilings(&self) -> &RunLimits {
        &self.ceilings
    }

    /// Compiles a module produced by the Actions compiler, or returns the
    /// cached one with the same SHA-256. CPU work of a few milliseconds:
    /// async callers call it from a blocking thread.
    ///
    /// Refuses modules made for another plugin build, and anything that is
    /// not exactly the compiler's dynamic-link shape.
    pub fn load(&self, wasm: &[u8]) -> Result<ActionModule, RunnerError> {
        let sha256 = hex::encode(Sha256::digest(wasm));
        let cached = self.strategy == InstanceStrategy::Pooled;
        if let Some(found) = self
            .modules
            .read()
            .ok()
            .filter(|_| cached)
            .and_then(|m| m.get(&sha256).cloned())
        {
            return Ok(found);
        }
        check_plugin_id(wasm)?;
        let module = Module::new(&self.engine, wasm)
            .map_err(|e| RunnerError::InvalidModule(e.to_string()))?;
        let mut imports = Vec::new();
        for import in module.imports() {
            let expected = matches!(
                (import.name(), import.ty()),
                ("cabi_realloc" | "invoke", wasmtime::ExternType::Func(_))
                    | ("memory", wasmtime::ExternType::Memory(_))
            );
            if import.module() != IMPORT_NAMESPACE || !expected {
                return Err(RunnerError::InvalidModule(format!(
                    "unexpected import {}::{}",
                    import.module(),
                    import.name()
                )));
            }
            imports.push(import.name().to_owned());
        }
        if !matches!(
            module.get_export(ENTRY_EXPORT),
            Some(wasmtime::ExternType::Func(_))
        ) {
            return Err(RunnerError::InvalidModule(format!(
                "no `{ENTRY_EXPORT}` export"
            )));
        }
        let action = ActionModule {
            inner: Arc::new(ActionModuleInner {
                sha256: sha256.clone(),
                module,
                imports,
            }),
        };
        if cached && let Ok(mut modules) = self.modules.write() {
            modules.entry(sha256).or_insert_with(|| action.clone());
        }
        Ok(action)
    }

    /// Runs an Action once in a fresh store and reports how it went.
    /// Never fails: every failure is an [`Outcome`]. Call it inside a Tokio
    /// runtime with timers enabled.
    pub async fn run(&self, request: RunRequest) -> RunReport {
        self.run_sharing(request, None).await
    }

    /// [`Sandbox::run`], the run's long part (past [`LONG_RUN_AFTER`])
    /// taking turns with the other long runs of `share`: one executes at a
    /// time, for one epoch tick per turn.
    pub async fn run_in_share(&self, request: RunRequest, share: &CpuShare) -> RunReport {
        self.run_sharing(request, Some(share)).await
    }

    async fn run_sharing(&self, request: RunRequest, share: Option<&CpuShare>) -> RunReport {
        let started = Instant::now();
        let limits = request.limits.capped_by(&self.ceilings);
        let deadline = started + limits.deadline();
        let event_json = event_json(
            request.event,
            request.trigger,
            request.config,
            request.secrets,
        );
        let tape = Tape::new(random_seed(), request.replay);
        let state = RunState {
            trigger: request.trigger,
            limits,
            event_json,
            started,
            deadline,
            effects: Effects::default(),
            effect_bytes: 0,
            deny_reason: None,
            logs: Vec::new(),
            log_bytes: 0,
            completion: None,
            pending_result: Vec::new(),
            stderr: Vec::new(),
            memory_limit_hit: false,
            stop: None,
            fetch_calls: 0,
            fetcher: self.fetcher.clone(),
            random_state: tape.random_seed(),
            tape,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| state);

        // Backstop for host calls that do not return: wasm itself is bounded
        // by the epoch deadline below.
        let grace = limits.deadline() + Duration::from_millis(250);
        let result = match tokio::time::timeout(
            grace,
            self.execute(&mut store, &request.action, limits, share),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => {
                store.data_mut().stop = Some(Stop::Deadline);
                Err(wasmtime::Error::from(Stop::Deadline))
            }
        };
        let fuel_left = store.get_fuel().unwrap_or(0);
        let fuel_consumed = limits.fuel.saturating_sub(fuel_left);
        let mut state = store.into_data();
        let outcome = classify(&mut state, result);
        let (inputs, replay_divergence) =
            std::mem::replace(&mut state.tape, Tape::new(0, None)).finish();
        if !outcome.is_decision() {
            // A failed run's partial effects never reach a token or a user.
            state.effects = Effects::default();
            let message = match &outcome {
                Outcome::GuestError { name, message, .. } => {
                    format!("the Action failed: {name}: {message}")
                }
                Outcome::HostError { message } => format!("runner error: {message}"),
                other => format!("the run was stopped: {}", other.name()),
            };
            if !matches!(outcome, Outcome::LogLimitExceeded) {
                state.push_log(LogLevel::Error, LogOrigin::Runtime, message);
            }
        }
        RunReport {
            outcome,
            effects: state.effects,
            logs: state.logs,
            fuel_consumed,
            duration: started.elapsed(),
            inputs,
            replay_divergence,
        }
    }

    async fn execute(
        &self,
        store: &mut Store<RunState>,
        action: &ActionModule,
        limits: RunLimits,
        share: Option<&CpuShare>,
    ) -> wasmtime::Result<()> {
        store.set_fuel(limits.fuel)?;
        store.set_epoch_deadline(1);
        let long_runs = Arc::clone(&self.long_runs);
        let share = share.cloned();
        let turn: Turn = Arc::default();
        store.epoch_deadline_callback(move |mut context| {
            let now = Instant::now();
            let data = context.data_mut();
            if now >= data.deadline {
                data.stop = Some(Stop::Deadline);
                return Err(Stop::Deadline.into());
            }
            if now.duration_since(data.started) < LONG_RUN_AFTER {
                // Let other runs on this thread go on between ticks.
                return Ok(UpdateDeadline::Yield(1));
            }
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(next_turn(
                    Arc::clone(&turn),
                    share.clone(),
                    Arc::clone(&long_runs),
                    data.deadline,
                )),
            ))
        });
        let plugin = match self.strategy {
            InstanceStrategy::Pooled => self.plugin.instantiate_async(&mut *store).await?,
            InstanceStrategy::Naive => {
                self.linker
                    .instantiate_async(&mut *store, self.plugin.module())
                    .await?
            }
        };
        let imports = action
            .inner
            .imports
            .iter()
            .map(|name| {
                plugin.get_export(&mut *store, name).ok_or_else(|| {
                    wasmtime::Error::msg(format!("the plugin has no `{name}` export"))
                })
            })
            .collect::<wasmtime::Result<Vec<Extern>>>()?;
        let instance = Instance::new_async(&mut *store, &action.inner.module, &imports).await?;
        let start = instance.get_typed_func::<(), ()>(&mut *store, ENTRY_EXPORT)?;
        start.call_async(&mut *store, ()).await
    }
}

/// Gives back a long run's turn and waits for the next: its share's, then
/// the sandbox's (always in that order, so no two runs wait on each other).
/// A run still waiting at its deadline goes on without a turn and is
/// stopped at the next tick.
async fn next_turn(
    turn: Turn,
    share: Option<CpuShare>,
    long_runs: Arc<Semaphore>,
    deadline: Instant,
) {
    drop(turn.lock().ok().and_then(|mut held| held.take()));
    // Even with turns free at once, let the thread's other tasks go first.
    tokio::task::yield_now().await;
    let deadline = tokio::time::Instant::from_std(deadline);
    let waited = tokio::time::timeout_at(deadline, async {
        let mine = match share {
            Some(share) => share.acquire_owned().await.ok(),
            None => None,
        };
        let everyone = long_runs.acquire_owned().await.ok();
        (mine, everyone)
    })
    .await;
    if let (Ok(permits), Ok(mut held)) = (waited, turn.lock()) {
        *held = Some(permits);
    }
}

fn engine_config(config: &SandboxConfig) -> Result<Config, RunnerError> {
    let mut engine = Config::new();
    engine.consume_fuel(true).epoch_interruption(true);
    if config.strategy == InstanceStrategy::Naive {
        return Ok(engine);
    }
    let runs = config.max_concurrent_runs.max(1);
    let mut pool = PoolingAllocationConfig::default();
    // Each run instantiates the plugin (one memory, one table) and the
    // Action (neither).
    pool.total_core_instances(runs * 2)
        .total_memories(runs)
        .total_tables(runs)
        .total_stacks(runs)
        .max_memory_size(usize::try_from(config.ceilings.memory_bytes).unwrap_or(usize::MAX))
        .linear_memory_keep_resident(config.linear_memory_keep_resident)
        .table_keep_resident(64 * 1024)
        // Reset only the pages a run dirtied (Linux 6.7+; off elsewhere):
        // 92 -> 76 µs for the empty starter here (docs/PERFORMANCE.md).
        .pagemap_scan(wasmtime::Enabled::Auto);
    engine.memory_init_cow(true).allocation_strategy(pool);
    Ok(engine)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] while the engine lives;
/// the thread holds only a weak reference and ends with the engine.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("actions-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        });
    if let Err(error) = spawned {
        // Without a ticker, deadlines would never fire: refuse to go on.
        panic!("cannot start the epoch ticker thread: {error}");
    }
}

fn check_plugin_id(wasm: &[u8]) -> Result<(), RunnerError> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| RunnerError::InvalidModule(e.to_string()))?;
        if let wasmparser::Payload::CustomSection(section) = payload
            && section.name() == PLUGIN_ID_SECTION
        {
            let made_for = String::from_utf8_lossy(section.data()).into_owned();
            if made_for == actions_plugin_host::plugin_id() {
                return Ok(());
            }
            return Err(RunnerError::PluginMismatch {
                module: made_for,
                runner: actions_plugin_host::plugin_id().to_owned(),
            });
        }
    }
    Err(RunnerError::InvalidModule(format!(
        "no `{PLUGIN_ID_SECTION}` section: not made by the Actions compiler"
    )))
}

/// The event as the Action sees it: the caller's fields, with `trigger`,
/// `config` and `secrets` set by the runner.
fn event_json(
    event: Value,
    trigger: Trigger,
    config: Value,
    secrets: Map<String, Value>,
) -> String {
    let mut object = match event {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    object.insert("trigger".into(), Value::String(trigger.as_str().into()));
    object.insert("config".into(), config);
    object.insert("secrets".into(), Value::Object(secrets));
    Value::Object(object).to_string()
}

/// A per-run seed: std's `RandomState` draws fresh keys for each instance.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        | 1
}

fn classify(state: &mut RunState, result: wasmtime::Result<()>) -> Outcome {
    if state.memory_limit_hit {
        // QuickJS turns a refused grow into a catchable `out of memory`; the
        // run is a memory-limit outcome whatever the Action did with it.
        return Outcome::MemoryLimitExceeded;
    }
    match result {
        Ok(()) => match state.completion.take() {
            Some(Completion::Ok) => match state.deny_reason.take() {
                Some(reason) => Outcome::Denied { reason },
                None => Outcome::Allowed,
            },
            Some(Completion::Threw {
                name,
                message,
                stack,
            }) => Outcome::GuestError {
                name,
                message,
                stack,
            },
            None => Outcome::GuestError {
                name: "Unsettled".into(),
                message: "execute did not finish: it awaited a promise that never settles".into(),
                stack: String::new(),
            },
        },
        Err(error) => {
            match state.stop {
                Some(Stop::Deadline) => return Outcome::DeadlineExceeded,
                Some(Stop::LogLimit) => return Outcome::LogLimitExceeded,
                _ => {}
            }
            if let Some(stop) = error.downcast_ref::<Stop>() {
                return match stop {
                    Stop::Deadline => Outcome::DeadlineExceeded,
                    Stop::LogLimit => Outcome::LogLimitExceeded,
                    Stop::Abi => Outcome::HostError {
                        message: stop.to_string(),
                    },
                    Stop::Exit => guest_trap(state, "the Action exited"),
                };
            }
            match error.downcast_ref::<Trap>() {
                Some(Trap::OutOfFuel) => Outcome::OutOfFuel,
                Some(Trap::Interrupt) => Outcome::DeadlineExceeded,
                Some(Trap::StackOverflow) => guest_trap(state, "stack overflow"),
                Some(trap) => guest_trap(state, &trap.to_string()),
                None => Outcome::HostError {
                    message: format!("{error:#}"),
                },
            }
        }
    }
}

/// A trap inside the plugin: usually an uncaught error that made Javy abort,
/// with its message and stack on stderr.
fn guest_trap(state: &RunState, what: &str) -> Outcome {
    let stderr = String::from_utf8_lossy(&state.stderr).trim().to_owned();
    let (message, stack) = match stderr.split_once('\n') {
        Some((first, rest)) => (first.to_owned(), rest.to_owned()),
        None if !stderr.is_empty() => (stderr, String::new()),
        None => (what.to_owned(), String::new()),
    };
    Outcome::GuestError {
        name: "Trap".into(),
        message,
        stack,
    }
}
