//! `action trigger`: calls a runner's `Execute` as an auth backend would.

use crate::{Status, output};
use actions_proto::runner::v1::{
    Decision, ExecuteRequest, ExecuteResponse, Outcome, execution_client::ExecutionClient,
};
use anyhow::Context as _;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct TriggerArgs {
    /// The trigger slot, e.g. login.post-login.
    slot: String,
    /// The event (JSON file).
    #[arg(long)]
    event: PathBuf,
    /// The tenant whose flows run.
    #[arg(long, env = "ACTIONS_TENANT", default_value = "demo")]
    tenant: String,
    /// The runner.
    #[arg(long, env = "ACTIONS_RUNNER", default_value = "http://127.0.0.1:50061")]
    server: String,
    /// The runner's token, if it has one.
    #[arg(
        long,
        env = "ACTIONS_RUNNER_TOKEN",
        default_value = "",
        hide_env_values = true
    )]
    token: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &TriggerArgs) -> anyhow::Result<Status> {
    let event_json = std::fs::read_to_string(&args.event)
        .with_context(|| format!("reading {}", args.event.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let response = runtime.block_on(async {
        let mut client = ExecutionClient::connect(args.server.clone())
            .await
            .with_context(|| {
                format!(
                    "cannot reach the runner at {}; is it running? (./dev demo starts one)",
                    args.server
                )
            })?;
        let message = ExecuteRequest {
            tenant: args.tenant.clone(),
            trigger: args.slot.clone(),
            event_json,
            ..ExecuteRequest::default()
        };
        let request = if args.token.is_empty() {
            tonic::Request::new(message)
        } else {
            actions_proto::bearer::request(message, &args.token)?
        };
        let response = client.execute(request).await.map_err(|status| {
            anyhow::anyhow!(
                "the runner refused the call ({:?}): {}",
                status.code(),
                status.message()
            )
        })?;
        anyhow::Ok(response.into_inner())
    })?;
    if args.json {
        output::print_json(&response_json(&response));
    } else {
        print_response(&response);
    }
    Ok(Status::Ok)
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

fn outcome_name(outcome: i32) -> &'static str {
    match Outcome::try_from(outcome).unwrap_or(Outcome::Unspecified) {
        Outcome::Unspecified => "unspecified",
        known => known.name(),
    }
}

fn decision(response: &ExecuteResponse) -> &'static str {
    if response.decision == Decision::Deny as i32 {
        "deny"
    } else {
        "allow"
    }
}

pub(crate) fn response_json(response: &ExecuteResponse) -> Value {
    json!({
        "run_id": response.run_id,
        "decision": decision(response),
        "reason": response.deny_reason,
        "access_token_claims": parse(&response.access_token_claims_json),
        "id_token_claims": parse(&response.id_token_claims_json),
        "scopes_added": response.scopes_added,
        "scopes_removed": response.scopes_removed,
        "app_metadata": parse(&response.app_metadata_json),
        "user_metadata": parse(&response.user_metadata_json),
        "duration_us": response.duration_us,
        "bindings": response.bindings.iter().map(|b| json!({
            "binding_id": b.binding_id,
            "action": b.action_slug,
            "version": b.action_version,
            "outcome": outcome_name(b.outcome),
            "error": b.error,
            "failed_open": b.failed_open,
            "fuel": b.fuel,
            "duration_us": b.duration_us,
            "logs": b.logs.iter().map(|l| json!({ "level": l.level, "origin": l.origin, "message": l.message, "timestamp_ms": l.timestamp_ms })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

pub(crate) fn print_response(response: &ExecuteResponse) {
    crate::outln!("run       {}", response.run_id);
    crate::outln!("decision  {}", output::paint_decision(decision(response)));
    if !response.deny_reason.is_empty() {
        crate::outln!("reason    {}", response.deny_reason);
    }
    for (label, json) in [
        ("access token claims", &response.access_token_claims_json),
        ("id token claims", &response.id_token_claims_json),
        ("app_metadata", &response.app_metadata_json),
        ("user_metadata", &response.user_metadata_json),
    ] {
        if let Value::Object(map) = parse(json)
            && !map.is_empty()
        {
            crate::outln!("{label}:");
            for (key, value) in map {
                crate::outln!("  {key} = {value}");
            }
        }
    }
    for binding in &response.bindings {
        let open = if binding.failed_open {
            " (failed open)"
        } else {
            ""
        };
        crate::outln!(
            "binding   {} {}@{}: {}{open}  {} fuel, {} µs",
            binding.binding_id,
            binding.action_slug,
            binding.action_version,
            outcome_name(binding.outcome),
            binding.fuel,
            binding.duration_us
        );
        if !binding.error.is_empty() {
            crate::outln!("          {}", binding.error);
        }
        for line in &binding.logs {
            crate::outln!("          [{}] {}", line.level, line.message);
        }
    }
    crate::outln!("time      {} µs", response.duration_us);
}
