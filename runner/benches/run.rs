//! In-process run time per starter, through the runner library: a fresh
//! `Store` and instance from the pooling allocator, the Action run to its
//! decision, the store dropped.
//!
//! `cargo bench -p actions-runner --bench run`

use actions_compiler::{Compiler, SourcePackage};
use actions_runner::{RunLimits, RunRequest, Sandbox, SandboxConfig, Trigger};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value};
use std::path::Path;

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("json")
}

fn run(c: &mut Criterion) {
    let compiler = Compiler::new(None).expect("compiler starts");
    let sandbox = Sandbox::new(SandboxConfig::default()).expect("sandbox starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let starters = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/starters");
    let cases = [
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
    ];
    let mut group = c.benchmark_group("run");
    for (starter, event, config, trigger) in cases {
        let dir = starters.join(starter);
        let package = SourcePackage::load(&dir).expect("starter loads");
        let action = sandbox
            .load(&compiler.compile(&package).expect("compiles").wasm)
            .expect("loads");
        let event = read_json(&dir.join(event));
        let config = config.map_or(Value::Object(Map::new()), |c| read_json(&dir.join(c)));
        group.bench_function(starter, |b| {
            b.iter(|| {
                let report = runtime.block_on(sandbox.run(RunRequest {
                    action: action.clone(),
                    trigger,
                    event: event.clone(),
                    config: config.clone(),
                    secrets: Map::new(),
                    limits: RunLimits::default(),
                }));
                assert!(report.outcome.is_decision(), "{:?}", report.outcome);
                report
            });
        });
    }
    group.finish();
}

criterion_group!(benches, run);
criterion_main!(benches);
