//! Test runs on the control plane's test runner, in the production
//! sandbox, recorded as test runs and changing nothing: `action test-slot`
//! (the flow-builder's test: a whole trigger slot with the bindings saved in
//! it) and `action test-version` (one saved version).

use super::{Remote, block_on, refused};
use crate::Status;
use crate::output::{Progress, print_json};
use crate::trigger::{print_response, response_json};
use actions_proto::controlplane::v1::{
    self as pb, actions_client::ActionsClient, tests_client::TestsClient,
};
use actions_proto::runner::v1::ExecuteResponse;
use actions_proto::runner::v1::Outcome;
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub(crate) struct TestSlotArgs {
    /// The trigger slot, e.g. login.post-login.
    trigger: String,
    /// The event (JSON file).
    #[arg(long)]
    event: PathBuf,
    #[command(flatten)]
    remote: Remote,
}

/// `action test-slot`: runs the slot as it is saved.
pub(crate) fn test_slot(args: &TestSlotArgs) -> anyhow::Result<Status> {
    let event_json = std::fs::read_to_string(&args.event)
        .with_context(|| format!("reading {}", args.event.display()))?;
    let response = block_on(async {
        let mut client = TestsClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
        let _progress = Progress::start(format!("running {} on a test runner", args.trigger));
        client
            .test_slot(args.remote.request(pb::TestSlotRequest {
                trigger: args.trigger.clone(),
                event_json,
                candidate: Vec::new(),
                use_candidate: false,
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    Ok(report(&response, args.remote.json))
}

/// Prints the answer; the status is 3 when some binding did not reach a
/// decision (a limit or an error), as for `action test`.
fn report(response: &ExecuteResponse, json: bool) -> Status {
    if json {
        print_json(&response_json(response));
    } else {
        print_response(response);
    }
    let decided = response.bindings.iter().all(|b| {
        matches!(
            b.outcome(),
            Outcome::Allowed | Outcome::Denied | Outcome::Skipped
        )
    });
    if decided {
        Status::Ok
    } else {
        Status::NoDecision
    }
}

#[derive(Args, Debug)]
pub(crate) struct TestVersionArgs {
    /// The Action.
    slug: String,
    /// The version (default: the latest).
    #[arg(long)]
    version: Option<String>,
    /// The trigger slot (default: the Action's first trigger).
    #[arg(long)]
    trigger: Option<String>,
    /// The event (JSON file).
    #[arg(long)]
    event: PathBuf,
    /// The binding's configuration (a JSON file), checked against the version's schema.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Test values of secrets (a JSON object of strings), over the Action's stored ones for this run.
    #[arg(long)]
    secrets: Option<PathBuf>,
    #[command(flatten)]
    remote: Remote,
}

/// `action test-version`: one saved version against an event, on the test
/// runner; the status as for `action test-slot`.
pub(crate) fn test_version(args: &TestVersionArgs) -> anyhow::Result<Status> {
    let event_json = std::fs::read_to_string(&args.event)
        .with_context(|| format!("reading {}", args.event.display()))?;
    let config_json = match &args.config {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => String::new(),
    };
    let secrets = match &args.secrets {
        Some(path) => crate::run::read_secrets(path)?
            .into_iter()
            .filter_map(|(name, value)| value.as_str().map(|v| (name, v.to_owned())))
            .collect(),
        None => Default::default(),
    };
    let response = block_on(async {
        let channel = args.remote.channel().await?;
        let trigger = match &args.trigger {
            Some(trigger) => trigger.clone(),
            None => ActionsClient::new(channel.clone())
                .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES)
                .get_action(args.remote.request(pb::GetActionRequest {
                    slug: args.slug.clone(),
                })?)
                .await
                .map_err(refused)?
                .into_inner()
                .triggers
                .into_iter()
                .next()
                .with_context(|| format!("{} names no trigger; pass --trigger", args.slug))?,
        };
        let mut client = TestsClient::new(channel)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
        let _progress = Progress::start(format!("running {} on a test runner", args.slug));
        client
            .test_version(args.remote.request(pb::TestVersionRequest {
                slug: args.slug.clone(),
                version: args.version.clone().unwrap_or_default(),
                trigger,
                event_json,
                config_json,
                secrets,
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    Ok(report(&response, args.remote.json))
}
