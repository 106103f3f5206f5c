//! Per-binding limits: kept by the control plane, checked against the
//! operator's ceilings, and applied by the runner it sends them to.

use crate::harness::{Harness, auth};
use crate::scenarios::{LOGIN, POST_LOGIN, audit_events, login_event};
use actions_proto::controlplane::v1 as pb;
use actions_proto::limits::CEILINGS;
use actions_proto::runner::v1::{Decision, ExecuteResponse, Limits, Outcome};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tonic::Code;

/// About 80 million units of fuel (default limit: 2 billion), a few ms.
const SPIN: &str = "export async function execute(event, api) {
  let sum = 0;
  for (let i = 0; i < 100000; i++) { sum += i % 7; }
  console.log('sum', sum);
  return api.access.allow();
}";

/// Far too little for [`SPIN`].
const STARVED: Limits = Limits {
    fuel: 5_000_000,
    deadline_ms: 2_000,
    memory_bytes: 0,
    log_bytes: 0,
    fetch_calls: 0,
    effect_bytes: 0,
    fetch_request_bytes: 0,
    fetch_response_bytes: 0,
    fetch_timeout_ms: 0,
};

async fn attach(
    h: &Harness,
    token: &str,
    trigger: &str,
    limits: Option<Limits>,
) -> Result<pb::SlotBinding, tonic::Status> {
    h.flows()
        .attach_action(auth(
            pb::AttachActionRequest {
                trigger: trigger.into(),
                action_slug: "spin".into(),
                major: None,
                position: None,
                config_json: "{}".into(),
                fail_open: false,
                limits,
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn update(
    h: &Harness,
    token: &str,
    request: pb::UpdateBindingRequest,
) -> Result<pb::SlotBinding, tonic::Status> {
    h.flows()
        .update_binding(auth(request, token))
        .await
        .map(tonic::Response::into_inner)
}

async fn listed(h: &Harness, token: &str, id: &str) -> pb::SlotBinding {
    h.flows()
        .list_flows(auth(pb::ListFlowsRequest {}, token))
        .await
        .expect("list flows")
        .into_inner()
        .flows
        .into_iter()
        .flat_map(|f| f.slots)
        .flat_map(|s| s.bindings)
        .find(|b| b.id == id)
        .expect("the binding is listed")
}

/// The details of the newest audit event of `kind` about `subject`.
async fn audited(h: &Harness, token: &str, kind: &str, subject: &str) -> Value {
    let event = audit_events(h, token, kind)
        .await
        .into_iter()
        .filter(|e| e.subject == subject)
        .max_by_key(|e| e.seq)
        .unwrap_or_else(|| panic!("no {kind} event about {subject}"));
    serde_json::from_str(&event.details_json).expect("details JSON")
}

/// Executes `trigger` until its one binding, `binding`, ends in `outcome`:
/// changes reach the runner through its watch stream.
async fn execute_until(
    h: &Harness,
    trigger: &str,
    binding: &str,
    outcome: Outcome,
) -> ExecuteResponse {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = h.execute("acme", trigger, &login_event("a@b.c")).await;
        if let Ok(response) = &answer
            && response.bindings.len() == 1
            && response.bindings[0].binding_id == binding
            && response.bindings[0].outcome() == outcome
        {
            return answer.expect("checked");
        }
        assert!(
            Instant::now() < deadline,
            "{binding} at {trigger} never ended in {outcome:?}; last answer: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What a refused call must leave as it was: bindings, the flows revision
/// and its changes, the audit trail. (Run records arrive in the background
/// from earlier runs, so the rest of the store is not compared.)
async fn flows_state(h: &Harness) -> Vec<String> {
    h.store_dump()
        .await
        .into_iter()
        .filter(|line| {
            [
                "bindings:",
                "config_revision:",
                "flow_changes:",
                "audit_events:",
            ]
            .iter()
            .any(|table| line.starts_with(table))
        })
        .collect()
}

pub async fn binding_limits_are_kept_checked_and_applied(h: &Harness) {
    let token = h.tenant("acme").await;
    h.actions()
        .create_action(auth(
            pb::CreateActionRequest {
                slug: "spin".into(),
                name: "Spin".into(),
                triggers: vec![LOGIN.into(), POST_LOGIN.into()],
                config_schema_json: String::new(),
                version: String::new(),
                source: Some(pb::Source {
                    files: [("src/index.ts".to_owned(), SPIN.to_owned())].into(),
                    entry: "src/index.ts".into(),
                }),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("create");
    h.actions()
        .publish_version(auth(
            pb::PublishVersionRequest {
                slug: "spin".into(),
                version: "0.1.0".into(),
            },
            &token,
        ))
        .await
        .expect("publish");

    // Kept: the answer, ListFlows and the audit trail show them.
    let starved = attach(h, &token, POST_LOGIN, Some(STARVED))
        .await
        .expect("attach with limits");
    assert_eq!(starved.limits, Some(STARVED));
    let roomy = attach(h, &token, LOGIN, None)
        .await
        .expect("attach with the defaults");
    assert_eq!(roomy.limits, None);
    let all_zero = attach(h, &token, LOGIN, Some(Limits::default()))
        .await
        .expect("attach with every limit 0");
    assert_eq!(all_zero.limits, None, "all zeros are the defaults");
    h.flows()
        .detach_binding(auth(
            pb::DetachBindingRequest {
                binding_id: all_zero.id.clone(),
            },
            &token,
        ))
        .await
        .expect("detach");
    assert_eq!(listed(h, &token, &starved.id).await.limits, Some(STARVED));
    assert_eq!(listed(h, &token, &roomy.id).await.limits, None);
    assert_eq!(
        audited(h, &token, "flow.binding_added", &starved.id).await["limits"],
        json!({ "fuel": 5_000_000, "deadline_ms": 2_000 })
    );
    assert!(
        audited(h, &token, "flow.binding_added", &roomy.id)
            .await
            .get("limits")
            .is_none(),
        "a binding with the defaults has no limits in its audit event"
    );

    // Applied: the same Action runs out of fuel under the small limit and
    // is allowed with the defaults.
    let out = execute_until(h, POST_LOGIN, &starved.id, Outcome::OutOfFuel).await;
    assert_eq!(out.decision(), Decision::Deny);
    assert!(out.bindings[0].fuel <= STARVED.fuel, "{out:?}");
    let allowed = execute_until(h, LOGIN, &roomy.id, Outcome::Allowed).await;
    assert_eq!(allowed.decision(), Decision::Allow);
    assert!(
        allowed.bindings[0].fuel > STARVED.fuel,
        "the Action needs more fuel than the small limit: {allowed:?}"
    );

    // Changed, both ways: the next runs obey.
    let freed = update(
        h,
        &token,
        pb::UpdateBindingRequest {
            binding_id: starved.id.clone(),
            limits: Some(Limits::default()),
            ..Default::default()
        },
    )
    .await
    .expect("back to the defaults");
    assert_eq!(freed.limits, None);
    let tightened = update(
        h,
        &token,
        pb::UpdateBindingRequest {
            binding_id: roomy.id.clone(),
            limits: Some(STARVED),
            ..Default::default()
        },
    )
    .await
    .expect("a small limit");
    assert_eq!(tightened.limits, Some(STARVED));
    assert_eq!(listed(h, &token, &starved.id).await.limits, None);
    assert_eq!(listed(h, &token, &roomy.id).await.limits, Some(STARVED));
    execute_until(h, POST_LOGIN, &starved.id, Outcome::Allowed).await;
    execute_until(h, LOGIN, &roomy.id, Outcome::OutOfFuel).await;
    assert_eq!(
        audited(h, &token, "flow.binding_changed", &starved.id).await["limits"],
        json!({ "from": { "fuel": 5_000_000, "deadline_ms": 2_000 }, "to": null })
    );
    assert_eq!(
        audited(h, &token, "flow.binding_changed", &roomy.id).await["limits"],
        json!({ "from": null, "to": { "fuel": 5_000_000, "deadline_ms": 2_000 } })
    );

    // An update without limits leaves them as they are.
    let kept = update(
        h,
        &token,
        pb::UpdateBindingRequest {
            binding_id: roomy.id.clone(),
            fail_open: Some(true),
            ..Default::default()
        },
    )
    .await
    .expect("change the failure policy only");
    assert!(kept.fail_open);
    assert_eq!(kept.limits, Some(STARVED));

    // Checked: above a ceiling is refused, naming each field, what was
    // asked and the ceiling; nothing is stored.
    let before = flows_state(h).await;
    let bindings_before = (
        listed(h, &token, &starved.id).await,
        listed(h, &token, &roomy.id).await,
    );
    let too_much = Limits {
        fuel: CEILINGS.fuel + 1,
        fetch_calls: CEILINGS.fetch_calls + 1,
        // At the ceiling: allowed, so not named.
        deadline_ms: CEILINGS.deadline_ms,
        ..Limits::default()
    };
    let refused = attach(h, &token, POST_LOGIN, Some(too_much))
        .await
        .expect_err("attach above the ceilings");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let message = refused.message();
    assert!(
        message.contains(&format!(
            "fuel {} is above the ceiling {}",
            CEILINGS.fuel + 1,
            CEILINGS.fuel
        )) && message.contains(&format!(
            "fetch_calls {} is above the ceiling {}",
            CEILINGS.fetch_calls + 1,
            CEILINGS.fetch_calls
        )) && !message.contains("deadline_ms"),
        "{message}"
    );
    let refused = update(
        h,
        &token,
        pb::UpdateBindingRequest {
            binding_id: roomy.id.clone(),
            fail_open: Some(false),
            limits: Some(Limits {
                memory_bytes: CEILINGS.memory_bytes * 2,
                ..Limits::default()
            }),
            ..Default::default()
        },
    )
    .await
    .expect_err("update above a ceiling");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains(&format!(
            "memory_bytes {} is above the ceiling {}",
            CEILINGS.memory_bytes * 2,
            CEILINGS.memory_bytes
        )),
        "{}",
        refused.message()
    );
    assert_eq!(
        flows_state(h).await,
        before,
        "a refused call stores nothing"
    );
    assert_eq!(
        (
            listed(h, &token, &starved.id).await,
            listed(h, &token, &roomy.id).await,
        ),
        bindings_before
    );
    execute_until(h, LOGIN, &roomy.id, Outcome::OutOfFuel).await;

    // Every limit at its ceiling is allowed.
    let at_ceilings = update(
        h,
        &token,
        pb::UpdateBindingRequest {
            binding_id: roomy.id.clone(),
            limits: Some(CEILINGS),
            ..Default::default()
        },
    )
    .await
    .expect("limits at the ceilings");
    assert_eq!(at_ceilings.limits, Some(CEILINGS));
    execute_until(h, LOGIN, &roomy.id, Outcome::Allowed).await;
}
