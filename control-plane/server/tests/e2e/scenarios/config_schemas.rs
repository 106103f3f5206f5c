//! Config schemas: configs checked when a binding is made or moved, and a
//! publish refused when the new version's schema would break a binding.

use super::{
    LOGIN, POST_CREATE, attach, audit_events, create, login_event, publish, save, slot_bindings,
    source,
};
use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_proto::runner::v1::Decision;
use actions_test_support::auth;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tonic::Code;

const ALLOWLIST: &str = r#"
export async function execute(event, api) {
  const domain = event.user.email.split('@')[1];
  if (!event.config.allowed_domains.includes(domain)) {
    return api.access.deny(`only ${event.config.allowed_domains.join(', ')}`);
  }
  return api.access.allow();
}
"#;

fn allowlist_schema(required: &[&str]) -> String {
    json!({
        "type": "object",
        "required": required,
        "properties": {
            "allowed_domains": { "type": "array", "items": { "type": "string" }, "minItems": 1 },
            "mode": { "enum": ["strict", "lenient"] }
        }
    })
    .to_string()
}

pub async fn a_schema_breaking_publish_is_refused(h: &Harness) {
    let token = h.tenant("acme").await;
    create(
        h,
        &token,
        "allowlist",
        &[LOGIN],
        &allowlist_schema(&["allowed_domains"]),
        source(ALLOWLIST),
    )
    .await
    .expect("create");
    publish(h, &token, "allowlist", "0.1.0")
        .await
        .expect("publish");

    let refused = attach(
        h,
        &token,
        LOGIN,
        "allowlist",
        json!({ "allowed_domains": [] }),
        false,
    )
    .await
    .expect_err("a config the schema rejects");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("/allowed_domains"),
        "{}",
        refused.message()
    );
    let wrong_slot = attach(
        h,
        &token,
        POST_CREATE,
        "allowlist",
        json!({ "allowed_domains": ["a.com"] }),
        false,
    )
    .await
    .expect_err("a slot the Action is not made for");
    assert_eq!(wrong_slot.code(), Code::FailedPrecondition);
    assert!(slot_bindings(h, &token, LOGIN).await.is_empty());

    let binding = attach(
        h,
        &token,
        LOGIN,
        "allowlist",
        json!({ "allowed_domains": ["example.com"] }),
        false,
    )
    .await
    .expect("attach");
    let first = h
        .execute_when(
            "acme",
            LOGIN,
            &login_event("eve@evil.test"),
            &[binding.id.as_str()],
        )
        .await;
    assert_eq!(first.decision(), Decision::Deny);
    assert_eq!(first.bindings[0].action_version, "0.1.0");

    // 0.1.1 requires `mode`, which the binding's config lacks.
    save(
        h,
        &token,
        "allowlist",
        "",
        &allowlist_schema(&["allowed_domains", "mode"]),
        source(ALLOWLIST),
    )
    .await
    .expect("saving is fine: only publishing would break the binding");
    let breaking = publish(h, &token, "allowlist", "0.1.1")
        .await
        .expect_err("the publish would break the binding");
    assert_eq!(breaking.code(), Code::FailedPrecondition);
    assert!(
        breaking.message().contains(&binding.id),
        "{}",
        breaking.message()
    );
    assert!(
        breaking.message().contains("mode"),
        "{}",
        breaking.message()
    );
    assert!(
        audit_events(h, &token, "flow.action_published")
            .await
            .iter()
            .all(|e| e.subject != "allowlist@0.1.1")
    );
    let still = h
        .execute("acme", LOGIN, &login_event("eve@evil.test"))
        .await
        .expect("execute");
    assert_eq!(still.bindings[0].action_version, "0.1.0");

    // A new major is not followed by existing bindings, so it publishes.
    save(
        h,
        &token,
        "allowlist",
        "1.0.0",
        &allowlist_schema(&["allowed_domains", "mode"]),
        source(ALLOWLIST),
    )
    .await
    .expect("save 1.0.0");
    publish(h, &token, "allowlist", "1.0.0")
        .await
        .expect("publish a new major");
    assert_eq!(slot_bindings(h, &token, LOGIN).await[0].version, "0.1.0");

    // Moving the binding to major 1 needs a config that major accepts.
    let update = |config: Value| {
        let mut flows = h.flows();
        let id = binding.id.clone();
        let token = token.clone();
        async move {
            flows
                .update_binding(auth(
                    pb::UpdateBindingRequest {
                        binding_id: id,
                        config_json: Some(config.to_string()),
                        fail_open: None,
                        major: Some(1),
                        limits: None,
                    },
                    &token,
                ))
                .await
        }
    };
    let rejected = update(json!({ "allowed_domains": ["example.com"] }))
        .await
        .expect_err("no mode");
    assert_eq!(rejected.code(), Code::FailedPrecondition);
    let moved = update(json!({ "allowed_domains": ["example.com"], "mode": "strict" }))
        .await
        .expect("moved to major 1")
        .into_inner();
    assert_eq!((moved.major, moved.version.as_str()), (1, "1.0.0"));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = h
            .execute("acme", LOGIN, &login_event("eve@evil.test"))
            .await
            .expect("execute");
        if now.bindings[0].action_version == "1.0.0" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the runner never picked up 1.0.0"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
