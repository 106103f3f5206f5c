//! `action replay`: a recorded run, run again from its record on the
//! control plane's test runner (with the versions it ran, another version,
//! or a local package in place of one Action), and whether it comes out the
//! same; `--save-case` turns the run into a test case of a package.

use super::{Remote, block_on, refused, time_text};
use crate::Status;
use crate::outln;
use crate::output::{Progress, print_json};
use actions_compiler::SourcePackage;
use actions_proto::controlplane::v1::{
    self as pb, audit_client::AuditClient, tests_client::TestsClient,
};
use actions_proto::record::REDACTED;
use actions_proto::runner::v1::{BindingInputs, Outcome};
use actions_runner::replay::RunInputs;
use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub(crate) struct ReplayArgs {
    /// The run, by id (`action runs` lists them).
    run_id: String,
    /// The Action that --version or --package stands in for (default: the run's only Action).
    #[arg(long)]
    action: Option<String>,
    /// Replay with this saved version of the Action instead of the one that ran.
    #[arg(long, conflicts_with = "package")]
    version: Option<String>,
    /// Replay with this local package (its sources, compiled by the control plane) instead.
    #[arg(long)]
    package: Option<PathBuf>,
    /// Also write the run as a test case of a package (event, config, recorded inputs and
    /// what the run answered), for `action test`.
    #[arg(long, value_name = "FILE")]
    save_case: Option<PathBuf>,
    #[command(flatten)]
    remote: Remote,
}

/// `action replay`: status 0 when the replay matches the record, 3 when it
/// differs (as a failed test case), 1 when it could not be replayed.
pub(crate) fn replay(args: &ReplayArgs) -> anyhow::Result<Status> {
    let source = match &args.package {
        Some(dir) => Some(source_of(dir)?),
        None => None,
    };
    let (answer, record) = block_on(async {
        let channel = args.remote.channel().await?;
        let record = match &args.save_case {
            None => None,
            Some(_) => Some(
                AuditClient::new(channel.clone())
                    .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES)
                    .get_run(args.remote.request(pb::GetRunRequest {
                        run_id: args.run_id.clone(),
                    })?)
                    .await
                    .map_err(refused)?
                    .into_inner(),
            ),
        };
        let mut client = TestsClient::new(channel)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
        let _progress = Progress::start(format!("replaying run {}", args.run_id));
        let answer = client
            .replay_run(args.remote.request(pb::ReplayRunRequest {
                run_id: args.run_id.clone(),
                action_slug: args.action.clone().unwrap_or_default(),
                version: args.version.clone().unwrap_or_default(),
                source,
            })?)
            .await
            .map_err(refused)?
            .into_inner();
        Ok((answer, record))
    })?;
    if let (Some(path), Some(record)) = (&args.save_case, &record) {
        save_case(path, record, args.action.as_deref())?;
        if !args.remote.json {
            eprintln!(
                "wrote {}: the run as a test case (its expectations are what the run answered; \
                 edit them to what it should answer)",
                path.display()
            );
        }
    }
    if args.remote.json {
        print_json(&answer_json(&answer));
    } else {
        print_answer(&answer);
    }
    Ok(if answer.identical {
        Status::Ok
    } else {
        Status::NoDecision
    })
}

/// A package folder's sources, as the control plane compiles them.
fn source_of(dir: &Path) -> anyhow::Result<pb::Source> {
    crate::secret_types::refresh(dir)?;
    let package = SourcePackage::load(dir)?;
    let files = package
        .files()
        .map(|(path, bytes)| {
            let text = String::from_utf8(bytes.to_vec())
                .with_context(|| format!("{}: {path} is not UTF-8 text", dir.display()))?;
            Ok((path.to_owned(), text))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(pb::Source {
        files,
        entry: package.entry().to_owned(),
    })
}

fn answer_json(answer: &pb::ReplayRunResponse) -> Value {
    let response = |r: &Option<actions_proto::runner::v1::ExecuteResponse>| {
        r.as_ref()
            .map_or(Value::Null, crate::trigger::response_json)
    };
    json!({
        "identical": answer.identical,
        "differences": answer.differences.iter().map(|d| json!({
            "path": d.path, "recorded": d.recorded, "replayed": d.replayed,
        })).collect::<Vec<_>>(),
        "recorded": response(&answer.recorded),
        "replayed": response(&answer.replayed),
    })
}

fn print_answer(answer: &pb::ReplayRunResponse) {
    let replayed = answer.replayed.clone().unwrap_or_default();
    let lines: usize = replayed.bindings.iter().map(|b| b.logs.len()).sum();
    if answer.identical {
        outln!(
            "identical: decision {}, the same claims and metadata, {} bindings, {lines} log lines",
            replayed.decision().name(),
            replayed.bindings.len(),
        );
        return;
    }
    outln!(
        "different: {} differences, the first is where the runs part",
        answer.differences.len()
    );
    for d in &answer.differences {
        outln!("  {}", d.path);
        let show = |text: &str| {
            if text.is_empty() {
                "(absent)".to_owned()
            } else {
                text.to_owned()
            }
        };
        outln!("    recorded: {}", show(&d.recorded));
        outln!("    replayed: {}", show(&d.replayed));
    }
}

/// Writes `record` as a test case of the binding of `action` (or of its
/// only Action): the event, the config, the recorded inputs (so the case
/// replays the clocks, randomness and fetch answers of the run), and what
/// the run answered as the expectation.
fn save_case(path: &Path, record: &pb::RunRecord, action: Option<&str>) -> anyhow::Result<()> {
    let response = record.response.clone().unwrap_or_default();
    let Some(replay) = &record.replay else {
        bail!(
            "run {} cannot be saved as a case: {}",
            response.run_id,
            record.replay_omitted
        );
    };
    let slugs = response.action_slugs();
    let slug = match (action, slugs.as_slice()) {
        (Some(slug), _) if slugs.contains(&slug) => slug,
        (Some(slug), _) => bail!(
            "--action: run {} did not run {slug}; it ran {}",
            response.run_id,
            slugs.join(", ")
        ),
        (None, [one]) => one,
        (None, many) => bail!(
            "run {} ran several Actions ({}); name the case's with --action",
            response.run_id,
            many.join(", ")
        ),
    };
    let (index, result) = response
        .bindings
        .iter()
        .enumerate()
        .find(|(_, b)| b.action_slug == slug)
        .context("the run's bindings")?;
    let inputs: &BindingInputs = replay
        .bindings
        .get(index)
        .context("the record's inputs of that binding")?;
    let event: Value = serde_json::from_str(&replay.event_json).context("the recorded event")?;
    let config: Value = serde_json::from_str(&inputs.config_json).unwrap_or(json!({}));
    let mut expect = Map::new();
    match result.outcome() {
        Outcome::Allowed => {
            expect.insert("decision".into(), json!("allow"));
        }
        Outcome::Denied => {
            expect.insert("decision".into(), json!("deny"));
            expect.insert("reason".into(), json!(response.deny_reason));
        }
        other => {
            expect.insert("outcome".into(), json!(other.name()));
        }
    }
    // The record merges claims and metadata across bindings: they are the
    // binding's own only when it was the only one.
    if response.bindings.len() == 1 && result.outcome() == Outcome::Allowed {
        for (key, text) in [
            ("access_token_claims", &response.access_token_claims_json),
            ("id_token_claims", &response.id_token_claims_json),
            ("app_metadata", &response.app_metadata_json),
            ("user_metadata", &response.user_metadata_json),
        ] {
            if let Ok(value) = serde_json::from_str::<Value>(text) {
                expect.insert(key.into(), value);
            }
        }
    }
    let logs: Vec<&str> = result
        .logs
        .iter()
        .filter(|l| l.origin == "action")
        .map(|l| l.message.as_str())
        .collect();
    if !logs.is_empty() {
        expect.insert("logs".into(), json!(logs));
    }
    let secrets: Map<String, Value> = inputs
        .secret_names
        .iter()
        .map(|name| (name.clone(), json!(REDACTED)))
        .collect();
    let case = json!({
        "description": format!(
            "run {} of {} at {} ({}@{}), replayed from its record",
            response.run_id, record.trigger, time_text(record.started_at_ms),
            result.action_slug, result.action_version
        ),
        "trigger": record.trigger,
        "event": event,
        "config": config,
        "secrets": secrets,
        "inputs": RunInputs::from_wire(inputs),
        "expect": expect,
    });
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&case)? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
