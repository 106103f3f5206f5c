//! Memory of one runner process holding many distinct published Actions.
//!
//! Generates 10,000 distinct Actions (the custom-claim starter, each with a
//! constant of its own, so that every module has its own hash), writes them
//! and a flows file binding them (10 per tenant on `login.post-login`), then
//! starts the real `actions-runner` binary on growing subsets of them and
//! reads its resident set from `/proc`: after start-up, and again after one
//! `Execute` per tenant (every Action run once).
//!
//! `cargo bench -p actions-runner --bench memory` (or `./dev bench-memory`)
//! Arguments after `--`: the Action counts to measure (default
//! `0,1000,2500,5000,10000`).

use actions_compiler::{Compiler, SourcePackage};
use actions_proto::runner::v1::{ExecuteRequest, execution_client::ExecutionClient};
use actions_runner::settings::RunnerSettings;
use actions_test_support::{cache_dir, examples, free_port};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ACTIONS_PER_TENANT: usize = 10;

fn action_source(number: usize) -> String {
    format!(
        r#"
const ACTION_NUMBER = {number};
export async function execute(event: any, api: any) {{
  const tier = event.user.app_metadata?.tier ?? 'free';
  api.accessToken.setCustomClaim('https://example.com/action-{number}', tier);
  console.log(`action ${{ACTION_NUMBER}}: tier is ${{tier}}`);
  return api.access.allow();
}}
"#
    )
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Runner(Child);

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .flat_map(|a| {
            a.split(',')
                .filter_map(|n| n.parse().ok())
                .collect::<Vec<_>>()
        })
        .collect();
    let counts = if counts.is_empty() {
        vec![0, 1000, 2500, 5000, 10_000]
    } else {
        counts
    };
    let most = counts.iter().copied().max().unwrap_or(0);
    let work = tempfile::tempdir().expect("temp dir");
    let modules_dir = work.path().join("modules");
    std::fs::create_dir_all(&modules_dir).expect("modules dir");
    let cache_dir = cache_dir!();

    let compiler = Compiler::new(Some(&cache_dir)).expect("compiler starts");
    let started = Instant::now();
    let mut hashes = Vec::with_capacity(most);
    for number in 0..most {
        let package = SourcePackage::single("index.ts", action_source(number)).expect("package");
        let compiled = compiler.compile(&package).expect("compiles");
        std::fs::write(
            modules_dir.join(format!("{}.wasm", compiled.sha256)),
            &compiled.wasm,
        )
        .expect("module written");
        hashes.push(compiled.sha256);
    }
    let module_bytes: u64 = std::fs::read_dir(&modules_dir)
        .expect("modules")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "compiled {most} distinct Actions in {:.1} s ({module_bytes} bytes of modules)\n",
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let event =
        std::fs::read_to_string(examples().join("starters/custom-claim/events/gold-user.json"))
            .expect("event");

    println!(
        "| Actions | start-up | RSS after start-up | RSS after running each once | peak RSS | per Action (since 0) |"
    );
    println!("|---|---|---|---|---|---|");
    let mut baseline_kib = None;
    for &count in &counts {
        let flows = flows_json(&hashes[..count]);
        let flows_file = work.path().join(format!("flows-{count}.json"));
        std::fs::write(&flows_file, flows.to_string()).expect("flows written");
        let port = free_port();
        let settings = work.path().join(format!("runner-{count}.toml"));
        let mut runner_settings = RunnerSettings::new(&modules_dir);
        runner_settings.listen = format!("127.0.0.1:{port}");
        runner_settings.insecure_no_auth = true;
        runner_settings.flows_file = Some(flows_file.clone());
        runner_settings.cache_dir = Some(cache_dir.clone());
        std::fs::write(
            &settings,
            runner_settings.to_toml().expect("settings serialise"),
        )
        .expect("settings written");
        let launched = Instant::now();
        let runner = Runner(
            Command::new(env!("CARGO_BIN_EXE_actions-runner"))
                .arg("--config")
                .arg(&settings)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .spawn()
                .expect("runner starts"),
        );
        let pid = runner.0.id();
        let url = format!("http://127.0.0.1:{port}");
        let mut client = runtime.block_on(async {
            loop {
                if let Ok(client) = ExecutionClient::connect(url.clone()).await {
                    return client;
                }
                assert!(
                    launched.elapsed() < Duration::from_secs(600),
                    "the runner did not start"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let startup = launched.elapsed();
        let (after_start, _) = rss_kib(pid);
        let tenants = count.div_ceil(ACTIONS_PER_TENANT);
        runtime.block_on(async {
            for tenant in 0..tenants {
                let response = client
                    .execute(ExecuteRequest {
                        tenant: tenant_name(tenant),
                        trigger: "login.post-login".into(),
                        event_json: event.clone(),
                        ..ExecuteRequest::default()
                    })
                    .await
                    .expect("execute")
                    .into_inner();
                let claims: Value =
                    serde_json::from_str(&response.access_token_claims_json).expect("claims");
                let expected = ACTIONS_PER_TENANT.min(count - tenant * ACTIONS_PER_TENANT);
                assert_eq!(
                    claims.as_object().map(|c| c.len()),
                    Some(expected),
                    "every Action of tenant {tenant} ran"
                );
            }
        });
        let (after_runs, peak) = rss_kib(pid);
        let baseline = *baseline_kib.get_or_insert(after_runs);
        let per_action = if count == 0 {
            "-".to_owned()
        } else {
            format!(
                "{:.1} KiB",
                after_runs.saturating_sub(baseline) as f64 / count as f64
            )
        };
        println!(
            "| {count} | {:.1} s | {:.1} MiB | {:.1} MiB | {:.1} MiB | {per_action} |",
            startup.as_secs_f64(),
            after_start as f64 / 1024.0,
            after_runs as f64 / 1024.0,
            peak as f64 / 1024.0,
        );
        drop(runner);
    }
}

fn tenant_name(index: usize) -> String {
    format!("tenant-{index:05}")
}

fn flows_json(hashes: &[String]) -> Value {
    let mut tenants = BTreeMap::new();
    for (index, chunk) in hashes.chunks(ACTIONS_PER_TENANT).enumerate() {
        let bindings: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(position, sha)| {
                let number = index * ACTIONS_PER_TENANT + position;
                json!({
                    "id": format!("binding-{number}"),
                    "action_slug": format!("action-{number}"),
                    "action_version": "1.0.0",
                    "module_sha256": sha,
                })
            })
            .collect();
        tenants.insert(
            tenant_name(index),
            json!({ "slots": { "login.post-login": bindings } }),
        );
    }
    json!({ "revision": 1, "tenants": tenants })
}
