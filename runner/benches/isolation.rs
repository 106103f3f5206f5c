//! One tenant's flood against another tenant's latency, over gRPC against
//! the real `actions-runner` binary.
//!
//! Tenant `calm` signs in (the custom-claim starter on `login.post-login`)
//! from a few workers, first alone, then while tenant `flood` sends
//! never-ending Actions (`while (true) {}`, 30 s deadline) from as many
//! workers as the runner has pool slots (full concurrency), each calling
//! again when answered; a worker answered "overloaded" waits what the
//! answer's `RetryInfo` says, as an auth backend honouring the contract
//! does, or (`retry=now`) calls again at once, a flood of requests as well
//! as of runs. Prints `calm`'s latency percentiles in both phases, their
//! ratio, and what the flood was answered.
//!
//! `cargo bench -p actions-runner --bench isolation` (or
//! `./dev bench-isolation`). Arguments after `--`: `seconds=N` per phase
//! (default 10), `calm=N` workers (default 4), `flood=N` workers (default
//! 256, the pool), `retry=now`.

use actions_compiler::{Compiler, SourcePackage};
use actions_proto::overload;
use actions_proto::runner::v1::{ExecuteRequest, execution_client::ExecutionClient};
use actions_runner::settings::RunnerSettings;
use actions_test_support::{cache_dir, examples, free_port};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

struct Runner(Child);

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn argument(name: &str, default: u64) -> u64 {
    std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix(&format!("{name}="))?.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let seconds = argument("seconds", 10);
    let calm_workers = argument("calm", 4) as usize;
    let flood_workers = argument("flood", 256) as usize;
    let retry_at_once = std::env::args().any(|a| a == "retry=now");

    let work = tempfile::tempdir().expect("temp dir");
    let modules = work.path().join("modules");
    std::fs::create_dir_all(&modules).expect("modules dir");
    let compiler = Compiler::new(Some(&cache_dir!())).expect("compiler starts");
    let compile = |package: SourcePackage| {
        let compiled = compiler.compile(&package).expect("compiles");
        std::fs::write(
            modules.join(format!("{}.wasm", compiled.sha256)),
            &compiled.wasm,
        )
        .expect("module written");
        compiled.sha256
    };
    let claim = compile(
        SourcePackage::load(&examples().join("starters/custom-claim")).expect("starter loads"),
    );
    let spinner = compile(
        SourcePackage::single("index.ts", "export function execute() { while (true) {} }")
            .expect("package"),
    );
    let flows = json!({ "revision": 1, "tenants": {
        "calm": { "slots": { "login.post-login": [
            { "id": "c", "action_slug": "custom-claim", "action_version": "1.0.0", "module_sha256": claim }
        ] } },
        "flood": { "slots": { "login.post-login": [
            { "id": "f", "action_slug": "spinner", "action_version": "1.0.0", "module_sha256": spinner,
              "limits": { "deadline_ms": 30_000, "fuel": 20_000_000_000u64 } }
        ] } }
    } });
    let flows_file = work.path().join("flows.json");
    std::fs::write(&flows_file, flows.to_string()).expect("flows written");
    let port = free_port();
    let mut settings = RunnerSettings::new(&modules);
    settings.listen = format!("127.0.0.1:{port}");
    settings.flows_file = Some(flows_file);
    settings.cache_dir = Some(cache_dir!());
    // Its callers are this bench, on loopback: no token to present.
    settings.insecure_no_auth = true;
    let settings_file = work.path().join("runner.toml");
    std::fs::write(
        &settings_file,
        settings.to_toml().expect("settings serialise"),
    )
    .expect("settings written");
    let limits = settings.admission_limits();
    println!(
        "runner: {} production slots, {} per tenant, {} waiting per tenant for at most {} ms; \
         calm: {calm_workers} workers; flood: {flood_workers} workers retrying {}; {seconds} s per phase",
        limits.production.capacity,
        limits.production.per_tenant,
        limits.production.queue_per_tenant,
        limits.max_wait.as_millis(),
        if retry_at_once {
            "at once".to_owned()
        } else {
            format!(
                "after the answer's RetryInfo ({} ms)",
                limits.retry_after.as_millis()
            )
        }
    );
    let _runner = Runner(
        Command::new(env!("CARGO_BIN_EXE_actions-runner"))
            .arg("--config")
            .arg(&settings_file)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("runner starts"),
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let channel = loop {
            if let Ok(channel) = Channel::from_shared(url.clone())
                .expect("url")
                .connect()
                .await
            {
                break channel;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the runner did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let event =
            std::fs::read_to_string(examples().join("starters/custom-claim/events/gold-user.json"))
                .expect("event");
        let calm_request = ExecuteRequest {
            tenant: "calm".into(),
            trigger: "login.post-login".into(),
            event_json: event.clone(),
            ..ExecuteRequest::default()
        };

        // Warm-up, then calm alone.
        let _ = drive(
            &channel,
            &calm_request,
            calm_workers,
            Duration::from_secs(1),
        )
        .await;
        let alone = drive(
            &channel,
            &calm_request,
            calm_workers,
            Duration::from_secs(seconds),
        )
        .await;

        // The flood, on connections of its own (as another auth backend
        // process would), then calm again.
        let flood = Flood::start(&url, event, flood_workers, retry_at_once).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let answered_before = flood.snapshot();
        let flooded = drive(
            &channel,
            &calm_request,
            calm_workers,
            Duration::from_secs(seconds),
        )
        .await;
        let answered = flood.snapshot().minus(answered_before);
        flood.stop();

        println!();
        println!("| calm's sign-ins | calls | errors | p50 | p90 | p99 | p99.9 |");
        println!("|---|---|---|---|---|---|---|");
        alone.print("alone");
        flooded.print("during the flood");
        println!();
        println!(
            "calm's p99 during the flood / alone: {:.2}x (p50: {:.2}x)",
            flooded.percentile(0.99) / alone.percentile(0.99),
            flooded.percentile(0.50) / alone.percentile(0.50)
        );
        let per_second = |n: u64| n as f64 / seconds as f64;
        println!(
            "the flood during calm's measurement: {:.0} overloaded answers/s, {:.1} runs ended/s \
             (deadline or fuel), {:.1} other errors/s",
            per_second(answered.overloaded),
            per_second(answered.ran),
            per_second(answered.other)
        );
    });
}

struct Latencies {
    micros: Vec<u64>,
    errors: u64,
}

impl Latencies {
    fn percentile(&self, p: f64) -> f64 {
        let at = ((self.micros.len() as f64 * p) as usize).min(self.micros.len().saturating_sub(1));
        self.micros.get(at).map_or(0.0, |us| *us as f64 / 1000.0)
    }

    fn print(&self, phase: &str) {
        println!(
            "| {phase} | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            self.micros.len(),
            self.errors,
            self.percentile(0.50),
            self.percentile(0.90),
            self.percentile(0.99),
            self.percentile(0.999)
        );
    }
}

/// `workers` callers of `request`, each calling again when answered, for `length`.
async fn drive(
    channel: &Channel,
    request: &ExecuteRequest,
    workers: usize,
    length: Duration,
) -> Latencies {
    let until = Instant::now() + length;
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let mut client = ExecutionClient::new(channel.clone());
            let request = request.clone();
            tokio::spawn(async move {
                let mut micros = Vec::new();
                let mut errors = 0;
                while Instant::now() < until {
                    let started = Instant::now();
                    match client.execute(request.clone()).await {
                        Ok(answer) if !answer.get_ref().access_token_claims_json.is_empty() => {
                            micros.push(started.elapsed().as_micros() as u64);
                        }
                        _ => errors += 1,
                    }
                }
                (micros, errors)
            })
        })
        .collect();
    let mut all = Latencies {
        micros: Vec::new(),
        errors: 0,
    };
    for task in tasks {
        let (micros, errors) = task.await.expect("worker");
        all.micros.extend(micros);
        all.errors += errors;
    }
    all.micros.sort_unstable();
    all
}

#[derive(Clone, Copy, Default)]
struct Answered {
    overloaded: u64,
    ran: u64,
    other: u64,
}

impl Answered {
    fn minus(self, before: Answered) -> Answered {
        Answered {
            overloaded: self.overloaded - before.overloaded,
            ran: self.ran - before.ran,
            other: self.other - before.other,
        }
    }
}

struct Flood {
    stop: Arc<AtomicBool>,
    overloaded: Arc<AtomicU64>,
    ran: Arc<AtomicU64>,
    other: Arc<AtomicU64>,
}

impl Flood {
    async fn start(url: &str, event: String, workers: usize, retry_at_once: bool) -> Flood {
        let flood = Flood {
            stop: Arc::default(),
            overloaded: Arc::default(),
            ran: Arc::default(),
            other: Arc::default(),
        };
        let mut channels = Vec::new();
        for _ in 0..4 {
            channels.push(
                Channel::from_shared(url.to_owned())
                    .expect("url")
                    .connect()
                    .await
                    .expect("flood connects"),
            );
        }
        let request = ExecuteRequest {
            tenant: "flood".into(),
            trigger: "login.post-login".into(),
            event_json: event,
            ..ExecuteRequest::default()
        };
        for worker in 0..workers {
            let mut client = ExecutionClient::new(channels[worker % channels.len()].clone());
            let request = request.clone();
            let (stop, overloaded, ran, other) = (
                Arc::clone(&flood.stop),
                Arc::clone(&flood.overloaded),
                Arc::clone(&flood.ran),
                Arc::clone(&flood.other),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match client.execute(request.clone()).await {
                        Ok(_) => ran.fetch_add(1, Ordering::Relaxed),
                        Err(status) if overload::of(&status).is_some() => {
                            if !retry_at_once && let Some(delay) = overload::retry_after(&status) {
                                tokio::time::sleep(delay).await;
                            }
                            overloaded.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(_) => other.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
        flood
    }

    fn snapshot(&self) -> Answered {
        Answered {
            overloaded: self.overloaded.load(Ordering::Relaxed),
            ran: self.ran.load(Ordering::Relaxed),
            other: self.other.load(Ordering::Relaxed),
        }
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
