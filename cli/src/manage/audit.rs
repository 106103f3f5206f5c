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
    #[command(flatten)]
    remote: Remote,
}

fn print_event(event: &pb::AuditEvent, as_json: bool) {
    if as_json {
        let details = serde_json::from_str::<Value>(&event.details_json).unwrap_or(Value::Null);
        println!(
            "{}",
            json!({ "seq": event.seq, "kind": event.kind, "actor": event.actor, "at_ms": event.at_ms, "subject": event.subject, "details": details })
        );
    } else {
        println!(
            "{}  {}  {}  by {}",
            event.at_ms, event.kind, event.subject, event.actor
        );
    }
}

pub(crate) fn audit(args: &AuditArgs) -> anyhow::Result<Status> {
    block_on(async {
        let mut audit = AuditClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
        let mut events = audit
            .list_audit_events(args.remote.request(pb::ListAuditEventsRequest {
                kind: String::new(),
                page_size: args.limit,
                page_token: String::new(),
                action_slug: String::new(),
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
            let mut tail = audit
                .tail(args.remote.request(pb::TailRequest {
                    audit: true,
                    runs: false,
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            while let Some(event) = tail.message().await.map_err(refused)? {
                if let Some(Event::Audit(event)) = event.event {
                    print_event(&event, args.remote.json);
                }
            }
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}
