//! `actions-load`: drives `Execute` on a running runner at several
//! concurrency levels and reports executions per second and latency
//! percentiles. Client and server share the machine: say so with the figures.

use actions_proto::runner::v1::{ExecuteRequest, execution_client::ExecutionClient};
use anyhow::Context as _;
use clap::Parser;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

#[derive(Parser)]
#[command(
    name = "actions-load",
    about = "Load generator for the runner's Execute"
)]
struct Args {
    /// The runner, e.g. http://127.0.0.1:50061
    #[arg(long, default_value = "http://127.0.0.1:50061")]
    server: String,
    /// Runner token, if it has one.
    #[arg(long, env = "ACTIONS_RUNNER_TOKEN", default_value = "")]
    token: String,
    #[arg(long)]
    tenant: String,
    #[arg(long, default_value = "login.post-login")]
    trigger: String,
    /// The event (JSON file).
    #[arg(long)]
    event: PathBuf,
    /// Concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    concurrency: Vec<usize>,
    /// Seconds per level (after one second of warm-up).
    #[arg(long, default_value = "10")]
    seconds: u64,
    /// HTTP/2 connections shared by the workers.
    #[arg(long, default_value = "4")]
    connections: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let event_json = std::fs::read_to_string(&args.event)
        .with_context(|| format!("reading {}", args.event.display()))?;
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(
            Channel::from_shared(args.server.clone())?
                .connect()
                .await
                .context("connecting")?,
        );
    }
    println!("| concurrency | executions/s | p50 | p99 | p99.9 | errors |");
    println!("|---|---|---|---|---|---|");
    for &concurrency in &args.concurrency {
        let request = ExecuteRequest {
            tenant: args.tenant.clone(),
            trigger: args.trigger.clone(),
            event_json: event_json.clone(),
            ..ExecuteRequest::default()
        };
        let _ = drive(
            &channels,
            &args.token,
            &request,
            concurrency,
            Duration::from_secs(1),
        )
        .await;
        let started = Instant::now();
        let (mut latencies, errors) = drive(
            &channels,
            &args.token,
            &request,
            concurrency,
            Duration::from_secs(args.seconds),
        )
        .await;
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let pct = |p: f64| {
            latencies
                .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
                .map_or(0.0, |us| *us as f64 / 1000.0)
        };
        println!(
            "| {concurrency} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {errors} |",
            latencies.len() as f64 / elapsed,
            pct(0.50),
            pct(0.99),
            pct(0.999)
        );
    }
    Ok(())
}

async fn drive(
    channels: &[Channel],
    token: &str,
    request: &ExecuteRequest,
    concurrency: usize,
    length: Duration,
) -> (Vec<u64>, u64) {
    let until = Instant::now() + length;
    let workers = (0..concurrency).map(|i| {
        let mut client = ExecutionClient::new(channels[i % channels.len()].clone());
        let request = request.clone();
        let token = token.to_owned();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < until {
                let mut call = tonic::Request::new(request.clone());
                if !token.is_empty() {
                    let _ = actions_proto::bearer::attach(call.metadata_mut(), &token);
                }
                let started = Instant::now();
                match client.execute(call).await {
                    Ok(_) => latencies
                        .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        })
    });
    let mut all = Vec::new();
    let mut errors = 0;
    for worker in futures::future::join_all(workers)
        .await
        .into_iter()
        .flatten()
    {
        all.extend(worker.0);
        errors += worker.1;
    }
    (all, errors)
}
