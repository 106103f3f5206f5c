//! The audit trail: `action audit`.

use super::{Remote, block_on, refused};
use crate::Status;
use actions_proto::controlplane::v1::{self as pb, audit_client::AuditClient, tail_event::Event};
use clap::Args;
use serde_json::{Value, json};

#[derive(Args, Debug)]
pub(crate) struct AuditArgs {
    /// Keep printing events as they happen.
    #[arg(long)]
    follow: bool,
    /// How many events (newest first).
    #[arg(long, default_value = "50")]
    limit: u32,
    /// Only events of this kind, e.g. `flow.action_published`.
    #[arg(long, default_value = "")]
    kind: String,
    /// Only events about this Action (its versions, publishes and bindings).
    #[arg(long = "action", value_name = "SLUG", default_value = "")]
    action_slug: String,
    #[command(flatten)]
    remote: Remote,
}

fn print_event(event: &pb::AuditEvent, as_json: bool) {
    if as_json {
        let details = serde_json::from_str::<Value>(&event.details_json).unwrap_or(Value::Null);
        crate::output::print_json_line(
            &json!({ "seq": event.seq, "kind": event.kind, "actor": event.actor, "at_ms": event.at_ms, "subject": event.subject, "details": details }),
        );
    } else {
        crate::outln!(
            "{}  {}  {}  by {}",
            event.at_ms,
            event.kind,
            event.subject,
            event.actor
        );
    }
}

/// Whether a tailed event passes the filters, as the listing applies them:
/// the kind, and an Action as the subject (`slug` or `slug@version`) or
/// named as `"action"` in the details.
fn followed(args: &AuditArgs, event: &pb::AuditEvent) -> bool {
    let kind = args.kind.is_empty() || event.kind == args.kind;
    let slug = args.action_slug.as_str();
    let action = slug.is_empty()
        || event.subject == slug
        || event.subject.starts_with(&format!("{slug}@"))
        || serde_json::from_str::<Value>(&event.details_json)
            .is_ok_and(|d| d.get("action").and_then(Value::as_str) == Some(slug));
    kind && action
}

pub(crate) fn audit(args: &AuditArgs) -> anyhow::Result<Status> {
    block_on(async {
        let mut audit = AuditClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
        let mut events = audit
            .list_audit_events(args.remote.request(pb::ListAuditEventsRequest {
                kind: args.kind.clone(),
                page_size: args.limit,
                page_token: String::new(),
                action_slug: args.action_slug.clone(),
            })?)
            .await
            .map_err(refused)?
            .into_inner()
            .events;
        events.reverse();
        for event in &events {
            print_event(event, args.remote.json);
        }
        if args.follow {
            if crate::output::stderr_is_terminal() {
                eprintln!("following new events (Ctrl-C stops)...");
            }
            let mut tail = audit
                .tail(args.remote.request(pb::TailRequest {
                    audit: true,
                    runs: false,
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            while let Some(event) = tail.message().await.map_err(refused)? {
                if let Some(Event::Audit(event)) = event.event
                    && followed(args, &event)
                {
                    print_event(&event, args.remote.json);
                }
            }
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}
