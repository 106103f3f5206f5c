//! The hostile corpus (`runner/tests/hostile/*.ts`): Actions written to
//! break out, exhaust or corrupt the sandbox, each with the typed outcome it
//! must end in. Every entry runs in a sandbox with a single pool slot, so the
//! next run reuses exactly the memory the hostile one dirtied; after each, an
//! observer checks that the JavaScript world it sees is the pristine one and
//! a well-behaved Action runs cleanly.
//!
//! Header lines of an entry:
//! - `// expect: <outcome>` (required): `allowed`, `out_of_fuel`, ...;
//! - `// limits: {json}`: limits other than the defaults;
//! - `// guest-error: <name>`: the JavaScript error name of a `guest_error`;
//! - `// claims: {json}`: access-token claims the run must have set.

use crate::common::sandbox_event;
use actions_compiler::{Compiler, SourcePackage};
use actions_runner::{Outcome, RunLimits, RunReport, RunRequest, Sandbox, SandboxConfig, Trigger};
use actions_test_support::cache_dir;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

struct Entry {
    name: String,
    source: String,
    expect: String,
    limits: RunLimits,
    guest_error: Option<String>,
    claims: Map<String, Value>,
}

fn corpus() -> Vec<Entry> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus folder")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ts"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let source = std::fs::read_to_string(&path).expect("readable");
            let header = |key: &str| {
                source
                    .lines()
                    .take_while(|l| l.starts_with("//"))
                    .find_map(|l| l.strip_prefix(&format!("// {key}: ")))
                    .map(str::to_owned)
            };
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            Entry {
                expect: header("expect").unwrap_or_else(|| panic!("{name}: no `// expect:`")),
                limits: header("limits").map_or_else(RunLimits::default, |l| {
                    serde_json::from_str(&l).unwrap_or_else(|e| panic!("{name}: limits: {e}"))
                }),
                guest_error: header("guest-error"),
                claims: header("claims").map_or_else(Map::new, |c| {
                    serde_json::from_str(&c).unwrap_or_else(|e| panic!("{name}: claims: {e}"))
                }),
                name,
                source,
            }
        })
        .collect()
}

const OBSERVER: &str = r#"
export function execute(event: any, api: any) {
  const names = (o: any) => Object.getOwnPropertyNames(o).sort().join(',');
  api.accessToken.setCustomClaim('https://x/world', {
    globals: names(globalThis),
    object: names(Object.prototype),
    array: names(Array.prototype),
    func: names(Function.prototype),
    string: names(String.prototype),
    promise: names(Promise.prototype),
    natives: [JSON.stringify, JSON.parse, Math.random, Object.freeze, Promise.prototype.then, Array.prototype.push, Date]
      .map((f) => String(f)).join('|'),
    leaked: typeof (globalThis as any).leaked,
    event: JSON.stringify(event),
  });
  console.log('observed');
  return api.access.allow();
}
"#;

async fn run(sandbox: &Sandbox, compiler: &Compiler, source: &str, limits: RunLimits) -> RunReport {
    let package = SourcePackage::single("index.ts", source).expect("package");
    let wasm = compiler.compile(&package).expect("compiles").wasm;
    sandbox
        .run(RunRequest {
            action: sandbox.load(&wasm).expect("loads"),
            trigger: Trigger::LoginPostLogin,
            event: sandbox_event(),
            config: json!({}),
            secrets: Map::new(),
            limits,
            replay: None,
        })
        .await
}

#[tokio::test]
async fn every_hostile_action_ends_as_expected_and_leaves_nothing_behind() {
    let compiler = Compiler::new(Some(&cache_dir!())).expect("compiler starts");
    let sandbox = Sandbox::new(SandboxConfig {
        max_concurrent_runs: 1,
        cache_dir: Some(cache_dir!()),
        ..SandboxConfig::default()
    })
    .expect("sandbox starts");
    let pristine = run(&sandbox, &compiler, OBSERVER, RunLimits::default()).await;
    assert_eq!(pristine.outcome, Outcome::Allowed, "{:?}", pristine.outcome);

    let corpus = corpus();
    assert!(corpus.len() >= 25, "the corpus is there");
    let mut failures = Vec::new();
    for entry in &corpus {
        let report = run(&sandbox, &compiler, &entry.source, entry.limits).await;
        if report.outcome.name() != entry.expect {
            failures.push(format!(
                "{}: expected {}, got {:?}",
                entry.name, entry.expect, report.outcome
            ));
        }
        if let Some(expected) = &entry.guest_error {
            match &report.outcome {
                Outcome::GuestError { name, .. } if name == expected => {}
                other => failures.push(format!(
                    "{}: expected a {expected}, got {other:?}",
                    entry.name
                )),
            }
        }
        for (claim, value) in &entry.claims {
            if report.effects.access_token_claims.get(claim) != Some(value) {
                failures.push(format!(
                    "{}: claim {claim} is {:?}, not {value}",
                    entry.name,
                    report.effects.access_token_claims.get(claim)
                ));
            }
        }
        if !report.outcome.is_decision() && report.effects != Default::default() {
            failures.push(format!("{}: a failed run kept its effects", entry.name));
        }
        let observed = run(&sandbox, &compiler, OBSERVER, RunLimits::default()).await;
        if observed.effects != pristine.effects || observed.outcome != Outcome::Allowed {
            failures.push(format!(
                "{}: the next run saw a different world: {:?}",
                entry.name, observed.effects.access_token_claims
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
