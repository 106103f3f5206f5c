//! Run records and their console output: `action logs`.

use super::{Remote, block_on, refused};
use crate::Status;
use actions_proto::controlplane::v1::{self as pb, audit_client::AuditClient, tail_event::Event};
use clap::Args;
use serde_json::{Value, json};

#[derive(Args, Debug)]
pub(crate) struct LogsArgs {
    /// Only runs in which this Action ran.
    #[arg(long)]
    action: Option<String>,
    /// One run.
    #[arg(long)]
    run: Option<String>,
    /// How many runs (newest first).
    #[arg(long, default_value = "20")]
    limit: u32,
    /// Keep printing runs as they arrive.
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    remote: Remote,
}

fn run_json(run: &pb::RunRecord) -> Value {
    let answer = run.response.clone().unwrap_or_default();
    json!({
        "run_id": answer.run_id, "tenant": run.tenant, "trigger": run.trigger,
        "decision": answer.decision().name(), "deny_reason": answer.deny_reason,
        "started_at_ms": run.started_at_ms, "duration_us": answer.duration_us, "test": run.test,
        "bindings": answer.bindings.iter().map(|b| json!({
            "binding_id": b.binding_id, "action": b.action_slug, "version": b.action_version,
            "outcome": b.outcome().name(), "error": b.error, "fuel": b.fuel, "duration_us": b.duration_us,
            "logs": b.logs.iter().map(|l| json!({ "level": l.level, "message": l.message })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn print_run(run: &pb::RunRecord, as_json: bool) {
    if as_json {
        println!("{}", run_json(run));
        return;
    }
    let answer = run.response.clone().unwrap_or_default();
    let reason = if answer.deny_reason.is_empty() {
        String::new()
    } else {
        format!(": {}", answer.deny_reason)
    };
    println!(
        "run {}  {}  {}{}{}",
        answer.run_id,
        run.trigger,
        crate::output::paint_decision(answer.decision().name()),
        reason,
        if run.test { "  (test)" } else { "" }
    );
    for b in &answer.bindings {
        println!(
            "  {}@{}  {}  {} fuel  {} µs",
            b.action_slug,
            b.action_version,
            b.outcome().name(),
            b.fuel,
            b.duration_us
        );
        if !b.error.is_empty() {
            println!("    error: {}", b.error);
        }
        for line in &b.logs {
            println!("    [{}] {}", line.level, line.message);
        }
    }
}

pub(crate) fn logs(args: &LogsArgs) -> anyhow::Result<Status> {
    block_on(async {
        let mut audit = AuditClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
        if let Some(run_id) = &args.run {
            let run = audit
                .get_run(args.remote.request(pb::GetRunRequest {
                    run_id: run_id.clone(),
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            print_run(&run, args.remote.json);
            return Ok(());
        }
        let mut runs = audit
            .list_runs(args.remote.request(pb::ListRunsRequest {
                action_slug: args.action.clone().unwrap_or_default(),
                page_size: args.limit,
                ..Default::default()
            })?)
            .await
            .map_err(refused)?
            .into_inner()
            .runs;
        runs.reverse();
        for run in &runs {
            print_run(run, args.remote.json);
        }
        if args.follow {
            let mut tail = audit
                .tail(args.remote.request(pb::TailRequest {
                    audit: false,
                    runs: true,
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            while let Some(event) = tail.message().await.map_err(refused)? {
                if let Some(Event::Run(run)) = event.event {
                    let wanted = args
                        .action
                        .as_ref()
                        .is_none_or(|slug| run.bindings().iter().any(|b| &b.action_slug == slug));
                    if wanted {
                        print_run(&run, args.remote.json);
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}
