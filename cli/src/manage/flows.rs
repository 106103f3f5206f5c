//! The flows' trigger slots and what is bound to them: `action attach`
//! (with a binding's limits), `action move`, `action update`, `action
//! detach` and `action flows`.

use super::{Remote, block_on, refused};
use crate::Status;
use crate::output::print_json;
use actions_proto::controlplane::v1::{self as pb, flows_client::FlowsClient};
use actions_proto::runner::v1::Limits;
use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub(crate) struct AttachArgs {
    /// The flow: login or registration.
    flow: String,
    /// The slot, e.g. post-login (or login.post-login).
    slot: String,
    /// The Action.
    slug: String,
    /// The binding's configuration (a JSON file).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where in the slot (0 first; default: last).
    #[arg(long)]
    position: Option<u32>,
    /// The major version to follow (default: the most recently published).
    #[arg(long)]
    major: Option<u64>,
    /// A failure of this Action lets the flow carry on.
    #[arg(long, conflicts_with = "fail_closed")]
    fail_open: bool,
    /// A failure of this Action denies (the default).
    #[arg(long)]
    fail_closed: bool,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    remote: Remote,
}

/// A binding's limits, named as `action test` names them; a limit not
/// given runs with the runner's default. The control plane refuses any
/// above the operator's ceilings.
#[derive(Args, Debug, Default)]
pub(crate) struct LimitArgs {
    /// Fuel per run (deterministic CPU budget).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    fuel: Option<u64>,
    /// Wall-clock deadline per run in milliseconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    deadline_ms: Option<u64>,
    /// Linear memory limit in MiB.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    memory_mib: Option<u64>,
    /// Console output limit in bytes.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    log_bytes: Option<u64>,
    /// Calls to api.fetch per run.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    fetch_calls: Option<u32>,
    /// Token claims and metadata patches together, in bytes.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    effect_bytes: Option<u64>,
    /// Request body of one api.fetch, in bytes.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    fetch_request_bytes: Option<u64>,
    /// Response body of one api.fetch, in bytes.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    fetch_response_bytes: Option<u64>,
    /// Timeout of one api.fetch in milliseconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    fetch_timeout_ms: Option<u64>,
}

impl LimitArgs {
    /// The limits to send: `None` when no flag is given (the defaults);
    /// otherwise the given ones, 0 (the default) for the rest.
    fn wire(&self) -> Option<Limits> {
        let limits = Limits {
            fuel: self.fuel.unwrap_or(0),
            deadline_ms: self.deadline_ms.unwrap_or(0),
            memory_bytes: self
                .memory_mib
                .map_or(0, |mib| mib.saturating_mul(1024 * 1024)),
            log_bytes: self.log_bytes.unwrap_or(0),
            fetch_calls: self.fetch_calls.unwrap_or(0),
            effect_bytes: self.effect_bytes.unwrap_or(0),
            fetch_request_bytes: self.fetch_request_bytes.unwrap_or(0),
            fetch_response_bytes: self.fetch_response_bytes.unwrap_or(0),
            fetch_timeout_ms: self.fetch_timeout_ms.unwrap_or(0),
        };
        (!limits.is_default()).then_some(limits)
    }
}

/// The limits a binding sets (`null`: the runner's defaults), by their proto names.
fn limits_json(limits: Option<&Limits>) -> Value {
    match limits.filter(|l| !l.is_default()) {
        None => Value::Null,
        Some(limits) => limits
            .fields()
            .into_iter()
            .filter(|(_, value)| *value != 0)
            .map(|(field, value)| (field.to_owned(), Value::from(value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// The limits a binding sets, as text (`None`: the runner's defaults).
fn limits_text(limits: Option<&Limits>) -> Option<String> {
    let limits = limits.filter(|l| !l.is_default())?;
    let set: Vec<String> = limits
        .fields()
        .into_iter()
        .filter(|(_, value)| *value != 0)
        .map(|(field, value)| format!("{field}={value}"))
        .collect();
    Some(set.join(" "))
}

pub(crate) fn attach(args: &AttachArgs) -> anyhow::Result<Status> {
    let trigger = if args.slot.contains('.') {
        args.slot.clone()
    } else {
        format!("{}.{}", args.flow, args.slot)
    };
    if !trigger.starts_with(&format!("{}.", args.flow)) {
        bail!("slot {trigger} is not in the {} flow", args.flow);
    }
    let config_json = match &args.config {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => String::new(),
    };
    let binding = block_on(async {
        FlowsClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES)
            .attach_action(args.remote.request(pb::AttachActionRequest {
                trigger: trigger.clone(),
                action_slug: args.slug.clone(),
                major: args.major,
                position: args.position,
                config_json,
                fail_open: args.fail_open,
                limits: args.limits.wire(),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&binding_json(&binding));
    } else {
        crate::outln!(
            "attached {}@{} to {} at position {} as {}; it runs from the next {}",
            binding.action_slug,
            binding.version,
            binding.trigger,
            binding.position,
            binding.id,
            args.flow
        );
        if let Some(limits) = limits_text(binding.limits.as_ref()) {
            crate::outln!("limits: {limits} (the rest: the runner's defaults)");
        }
    }
    Ok(Status::Ok)
}

pub(crate) fn binding_json(b: &pb::SlotBinding) -> Value {
    json!({
        "id": b.id, "trigger": b.trigger, "position": b.position, "action": b.action_slug,
        "major": b.major, "version": b.version,
        "config": serde_json::from_str::<Value>(&b.config_json).unwrap_or(Value::Null),
        "fail_open": b.fail_open,
        "limits": limits_json(b.limits.as_ref()),
    })
}

#[derive(Args, Debug)]
pub(crate) struct DetachArgs {
    /// The binding's id (see `action flows`).
    binding: String,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn detach(args: &DetachArgs) -> anyhow::Result<Status> {
    block_on(async {
        FlowsClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES)
            .detach_binding(args.remote.request(pb::DetachBindingRequest {
                binding_id: args.binding.clone(),
            })?)
            .await
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&json!({ "detached": args.binding }));
    } else {
        crate::outln!("detached {}", args.binding);
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct FlowsArgs {
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn flows(args: &FlowsArgs) -> anyhow::Result<Status> {
    let flows = block_on(async {
        FlowsClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES)
            .list_flows(args.remote.request(pb::ListFlowsRequest {})?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        let value: Vec<Value> = flows
            .flows
            .iter()
            .map(|f| {
                json!({ "flow": f.name, "slots": f.slots.iter().map(|s| json!({
                    "trigger": s.trigger,
                    "bindings": s.bindings.iter().map(binding_json).collect::<Vec<_>>(),
                })).collect::<Vec<_>>() })
            })
            .collect();
        print_json(&Value::Array(value));
        return Ok(Status::Ok);
    }
    for flow in &flows.flows {
        crate::outln!("{}", flow.name);
        for slot in &flow.slots {
            crate::outln!("  {}  ({})", slot.trigger, slot.description);
            if slot.bindings.is_empty() {
                crate::outln!("      (nothing bound)");
            }
            for b in &slot.bindings {
                crate::outln!(
                    "    {}. {}@{}  {}  {}",
                    b.position,
                    b.action_slug,
                    b.version,
                    if b.fail_open {
                        "fail-open"
                    } else {
                        "fail-closed"
                    },
                    b.id
                );
                if let Some(limits) = limits_text(b.limits.as_ref()) {
                    crate::outln!("         limits: {limits}");
                }
            }
        }
    }
    Ok(Status::Ok)
}

/// A binding as one line of text: where it is, what it runs and how.
fn binding_text(b: &pb::SlotBinding) -> String {
    format!(
        "{} at {} position {}: {}@{} (major {}), {}",
        b.id,
        b.trigger,
        b.position,
        b.action_slug,
        b.version,
        b.major,
        if b.fail_open {
            "fail-open"
        } else {
            "fail-closed"
        }
    )
}

#[derive(Args, Debug)]
pub(crate) struct MoveArgs {
    /// The binding's id (see `action flows`).
    binding: String,
    /// Its new place in the slot (0 first).
    #[arg(long)]
    position: u32,
    #[command(flatten)]
    remote: Remote,
}

/// `action move`: a binding to another place in its slot.
pub(crate) fn move_binding(args: &MoveArgs) -> anyhow::Result<Status> {
    let binding = block_on(async {
        FlowsClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES)
            .move_binding(args.remote.request(pb::MoveBindingRequest {
                binding_id: args.binding.clone(),
                position: args.position,
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&binding_json(&binding));
    } else {
        crate::outln!("moved {}", binding_text(&binding));
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct UpdateArgs {
    /// The binding's id (see `action flows`).
    binding: String,
    /// Its new configuration (a JSON file), checked against the version's schema.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A failure of this Action lets the flow carry on.
    #[arg(long, conflicts_with = "fail_closed")]
    fail_open: bool,
    /// A failure of this Action denies.
    #[arg(long)]
    fail_closed: bool,
    /// Follow another major version (it must have a live version).
    #[arg(long)]
    major: Option<u64>,
    /// Every limit back to the runner's defaults.
    #[arg(long, conflicts_with_all = [
        "fuel", "deadline_ms", "memory_mib", "log_bytes", "fetch_calls", "effect_bytes",
        "fetch_request_bytes", "fetch_response_bytes", "fetch_timeout_ms",
    ])]
    default_limits: bool,
    /// Limits given replace all of the binding's limits (one not given goes
    /// back to the runner's default); none given leaves them as they are.
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    remote: Remote,
}

/// `action update`: a binding's configuration, failure policy, major or
/// limits; what is not given stays as it is.
pub(crate) fn update(args: &UpdateArgs) -> anyhow::Result<Status> {
    let fail_open = if args.fail_open {
        Some(true)
    } else if args.fail_closed {
        Some(false)
    } else {
        None
    };
    let limits = if args.default_limits {
        Some(Limits::default())
    } else {
        args.limits.wire()
    };
    if args.config.is_none() && fail_open.is_none() && args.major.is_none() && limits.is_none() {
        clap::Error::raw(
            clap::error::ErrorKind::MissingRequiredArgument,
            "nothing to change: give --config, --fail-open, --fail-closed, --major, a limit or --default-limits\n",
        )
        .exit();
    }
    let config_json = match &args.config {
        Some(path) => Some(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        None => None,
    };
    let binding = block_on(async {
        FlowsClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES)
            .update_binding(args.remote.request(pb::UpdateBindingRequest {
                binding_id: args.binding.clone(),
                config_json,
                fail_open,
                major: args.major,
                limits,
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&binding_json(&binding));
    } else {
        crate::outln!("updated {}", binding_text(&binding));
        match limits_text(binding.limits.as_ref()) {
            Some(limits) => crate::outln!("limits: {limits} (the rest: the runner's defaults)"),
            None => crate::outln!("limits: the runner's defaults"),
        }
    }
    Ok(Status::Ok)
}
