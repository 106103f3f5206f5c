//! Bindings in a slot: attached only to published Actions, run in order,
//! moved, changed and detached, each change reaching the runner, and an
//! Action deletable only once nothing binds it.

use super::{
    POST_LOGIN, attach, audit_events, claims, create, login_event, publish, slot_bindings, source,
};
use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_test_support::auth;
use serde_json::json;
use tonic::Code;

fn step(n: u32) -> pb::Source {
    source(&format!(
        "export async function execute(event, api) {{ console.log('step {n}', event.config.note ?? ''); api.accessToken.setCustomClaim('https://x/last', {n}); }}"
    ))
}

pub async fn bindings_move_change_and_detach(h: &Harness) {
    let token = h.tenant("acme").await;
    let unpublished = create(h, &token, "s0", &[POST_LOGIN], "", step(0))
        .await
        .expect("create");
    assert!(unpublished.created);
    let early = attach(h, &token, POST_LOGIN, "s0", json!({}), false)
        .await
        .expect_err("not published");
    assert_eq!(early.code(), Code::FailedPrecondition);
    let missing = attach(h, &token, POST_LOGIN, "nope", json!({}), false)
        .await
        .expect_err("no such Action");
    assert_eq!(missing.code(), Code::NotFound);

    let mut ids = Vec::new();
    for n in 1..=3 {
        let slug = format!("s{n}");
        create(h, &token, &slug, &[POST_LOGIN], "", step(n))
            .await
            .expect("create");
        publish(h, &token, &slug, "0.1.0").await.expect("publish");
        ids.push(
            attach(h, &token, POST_LOGIN, &slug, json!({}), false)
                .await
                .expect("attach")
                .id,
        );
    }
    let positions: Vec<u32> = slot_bindings(h, &token, POST_LOGIN)
        .await
        .iter()
        .map(|b| b.position)
        .collect();
    assert_eq!(positions, [0, 1, 2]);
    let ran = h
        .execute_when(
            "acme",
            POST_LOGIN,
            &login_event("a@b.c"),
            &[&ids[0], &ids[1], &ids[2]],
        )
        .await;
    assert_eq!(claims(&ran)["https://x/last"], 3);

    let mut flows = h.flows();
    flows
        .move_binding(auth(
            pb::MoveBindingRequest {
                binding_id: ids[2].clone(),
                position: 0,
            },
            &token,
        ))
        .await
        .expect("move");
    let order: Vec<String> = slot_bindings(h, &token, POST_LOGIN)
        .await
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(order, [ids[2].clone(), ids[0].clone(), ids[1].clone()]);
    let moved = h
        .execute_when(
            "acme",
            POST_LOGIN,
            &login_event("a@b.c"),
            &[&ids[2], &ids[0], &ids[1]],
        )
        .await;
    assert_eq!(claims(&moved)["https://x/last"], 2);

    let changed = flows
        .update_binding(auth(
            pb::UpdateBindingRequest {
                binding_id: ids[0].clone(),
                config_json: Some(json!({ "note": "changed" }).to_string()),
                fail_open: Some(true),
                major: None,
                limits: None,
            },
            &token,
        ))
        .await
        .expect("update")
        .into_inner();
    assert!(changed.fail_open);
    let not_object = flows
        .update_binding(auth(
            pb::UpdateBindingRequest {
                binding_id: ids[0].clone(),
                config_json: Some("[1]".into()),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect_err("config must be an object");
    assert_eq!(not_object.code(), Code::InvalidArgument);

    let bound = h
        .actions()
        .delete_action(auth(pb::DeleteActionRequest { slug: "s2".into() }, &token))
        .await
        .expect_err("bound");
    assert_eq!(bound.code(), Code::FailedPrecondition);
    assert!(bound.message().contains(&ids[1]), "{}", bound.message());

    flows
        .detach_binding(auth(
            pb::DetachBindingRequest {
                binding_id: ids[1].clone(),
            },
            &token,
        ))
        .await
        .expect("detach");
    let gone = flows
        .detach_binding(auth(
            pb::DetachBindingRequest {
                binding_id: ids[1].clone(),
            },
            &token,
        ))
        .await
        .expect_err("detached already");
    assert_eq!(gone.code(), Code::NotFound);
    let after = slot_bindings(h, &token, POST_LOGIN).await;
    assert_eq!(
        after
            .iter()
            .map(|b| (b.id.as_str(), b.position))
            .collect::<Vec<_>>(),
        [(ids[2].as_str(), 0), (ids[0].as_str(), 1)]
    );
    let last = h
        .execute_when(
            "acme",
            POST_LOGIN,
            &login_event("a@b.c"),
            &[&ids[2], &ids[0]],
        )
        .await;
    assert!(
        last.bindings[1]
            .logs
            .iter()
            .any(|l| l.message == "step 1 changed"),
        "{last:?}"
    );
    h.actions()
        .delete_action(auth(pb::DeleteActionRequest { slug: "s2".into() }, &token))
        .await
        .expect("deleted once unbound");

    for kind in [
        "flow.binding_added",
        "flow.binding_moved",
        "flow.binding_changed",
        "flow.binding_removed",
        "action.deleted",
    ] {
        assert!(
            !audit_events(h, &token, kind).await.is_empty(),
            "no {kind} in the audit"
        );
    }
}
