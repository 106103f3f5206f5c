//! In-process run time per starter, three ways in one run, on the same
//! compiled bundle and the same events:
//!
//! - `pooled`: the path the runner ships (pooling allocator, copy-on-write
//!   slots, the plugin as an `InstancePre`, the Action compiled once);
//! - `naive`: a first integration of wasmtime (on-demand allocator, the
//!   plugin linked per run, the Action compiled per request);
//! - `node-vm`: Node.js `vm` with a new context per run, running the same
//!   JavaScript bundle and prelude (`benches/node-vm/baseline.mjs`).
//!
//! `cargo bench -p actions-runner --bench run` (or `./dev bench`)

use actions_compiler::{CompiledAction, Compiler, SourcePackage};
use actions_runner::{
    ActionModule, InstanceStrategy, LogOrigin, Outcome, RunLimits, RunRequest, Sandbox,
    SandboxConfig, Trigger,
};
use actions_test_support::{cache_dir, repository};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

struct Case {
    starter: &'static str,
    compiled: CompiledAction,
    trigger: Trigger,
    event: Value,
    config: Value,
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("json")
}

fn cases(compiler: &Compiler) -> Vec<Case> {
    let starters = repository().join("examples/starters");
    [
        ("empty", "events/login.json", None, Trigger::LoginPostLogin),
        (
            "domain-allowlist",
            "events/corporate.json",
            Some("config.json"),
            Trigger::LoginPreCredentialCheck,
        ),
        (
            "webhook-emit",
            "events/signup.json",
            Some("config.json"),
            Trigger::RegistrationPostCreate,
        ),
        (
            "custom-claim",
            "events/gold-user.json",
            None,
            Trigger::LoginPostLogin,
        ),
    ]
    .into_iter()
    .map(|(starter, event, config, trigger)| {
        let dir = starters.join(starter);
        let package = SourcePackage::load(&dir).expect("starter loads");
        Case {
            starter,
            compiled: compiler.compile(&package).expect("compiles"),
            trigger,
            event: read_json(&dir.join(event)),
            config: config.map_or(Value::Object(Map::new()), |c| read_json(&dir.join(c))),
        }
    })
    .collect()
}

impl Case {
    fn request(&self, sandbox: &Sandbox) -> RunRequest {
        self.request_for(sandbox.load(&self.compiled.wasm).expect("loads"))
    }

    fn request_for(&self, action: ActionModule) -> RunRequest {
        RunRequest {
            action,
            trigger: self.trigger,
            event: self.event.clone(),
            config: self.config.clone(),
            secrets: Map::new(),
            limits: RunLimits::default(),
            replay: None,
        }
    }

    /// The event exactly as the sandbox hands it to the Action.
    fn event_json(&self) -> String {
        let mut event = self.event.as_object().cloned().unwrap_or_default();
        event.insert("trigger".into(), json!(self.trigger.as_str()));
        event.insert("config".into(), self.config.clone());
        event.insert("secrets".into(), json!({}));
        Value::Object(event).to_string()
    }
}

/// A Node.js process running `benches/node-vm/baseline.mjs`.
struct NodeVm {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl NodeVm {
    fn start(cases: &[Case]) -> Option<Self> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/node-vm/baseline.mjs");
        let mut child = match Command::new("node")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                eprintln!("node-vm baseline skipped: cannot start node: {error}");
                return None;
            }
        };
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut node = Self {
            child,
            stdin,
            stdout,
        };
        let prelude =
            std::fs::read_to_string(repository().join("javy-shims/plugin/src/prelude.js"))
                .expect("prelude readable");
        let cases: Vec<Value> = cases
            .iter()
            .map(|c| {
                json!({
                    "name": c.starter,
                    "javascript": c.compiled.javascript,
                    "event_json": c.event_json(),
                })
            })
            .collect();
        let ready = node.ask(&json!({ "prelude": prelude, "cases": cases }));
        assert_eq!(ready["ready"], json!(true), "{ready}");
        Some(node)
    }

    fn ask(&mut self, message: &Value) -> Value {
        writeln!(self.stdin, "{message}").expect("node reads");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("node answers");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("node answered {line:?}: {e}"))
    }

    fn run(&mut self, starter: &str, iters: u64) -> Duration {
        let answer = self.ask(&json!({ "run": starter, "iters": iters }));
        let nanos: u64 = answer["elapsed_ns"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("node answered {answer}"));
        Duration::from_nanos(nanos)
    }
}

impl Drop for NodeVm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(c: &mut Criterion) {
    // The plugin's machine code is cached between processes, as in the runner.
    let cache_dir = cache_dir!();
    let compiler = Compiler::new(Some(&cache_dir)).expect("compiler starts");
    let pooled = Sandbox::new(SandboxConfig {
        cache_dir: Some(cache_dir.clone()),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts");
    let naive = Sandbox::new(SandboxConfig {
        strategy: InstanceStrategy::Naive,
        cache_dir: Some(cache_dir),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let cases = cases(&compiler);
    let mut node = NodeVm::start(&cases);

    for case in &cases {
        // All three must reach the same decision and effects, or the
        // comparison means nothing.
        let expected = runtime.block_on(pooled.run(case.request(&pooled)));
        assert!(expected.outcome.is_decision(), "{:?}", expected.outcome);
        let from_naive = runtime.block_on(naive.run(case.request(&naive)));
        assert_eq!(from_naive.outcome, expected.outcome, "{}", case.starter);
        assert_eq!(from_naive.effects, expected.effects, "{}", case.starter);
        if let Some(node) = &mut node {
            let checked = node.ask(&json!({ "check": case.starter }));
            let outcome = match &expected.outcome {
                Outcome::Allowed => "allowed",
                _ => "denied",
            };
            assert_eq!(checked["outcome"], json!(outcome), "{}", case.starter);
            assert_eq!(
                checked["effects"]["access"],
                Value::Object(expected.effects.access_token_claims.clone()),
                "{}",
                case.starter
            );
            let action_logs = expected
                .logs
                .iter()
                .filter(|l| l.origin == LogOrigin::Action)
                .count();
            assert_eq!(checked["logs"], json!(action_logs), "{}", case.starter);
        }
    }

    let mut group = c.benchmark_group("run");
    for case in &cases {
        let action = pooled.load(&case.compiled.wasm).expect("loads");
        group.bench_function(format!("pooled/{}", case.starter), |b| {
            b.iter(|| runtime.block_on(pooled.run(case.request_for(action.clone()))));
        });
        group.bench_function(format!("naive/{}", case.starter), |b| {
            // Per request: compile the Action, link the plugin, run.
            b.iter(|| runtime.block_on(naive.run(case.request(&naive))));
        });
        if let Some(node) = &mut node {
            group.bench_function(format!("node-vm/{}", case.starter), |b| {
                b.iter_custom(|iters| node.run(case.starter, iters));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, run);
criterion_main!(benches);
