//! Tenant isolation and authentication: every RPC refuses another tenant's
//! data, lists and tails show a tenant only its own, tenant management takes
//! the operator token, and missing, unknown or revoked tokens are refused.

use super::{
    POST_LOGIN, attach, audit_events, create, login_event, publish, runs, runs_when, save,
    slot_bindings, source,
};
use crate::harness::{Harness, OPERATOR};
use actions_proto::controlplane::v1::{self as pb, tail_event::Event};
use actions_test_support::auth;
use serde_json::json;
use std::time::Duration;
use tonic::Code;

pub async fn every_rpc_refuses_another_tenants_data(h: &Harness) {
    let alpha = h.tenant("alpha").await;
    let beta = h.tenant("beta").await;
    create(
        h,
        &alpha,
        "secret-action",
        &[POST_LOGIN],
        "",
        source("export async function execute(event, api) { api.accessToken.setCustomClaim('https://a/x', 'alpha'); }"),
    )
    .await
    .expect("create");
    publish(h, &alpha, "secret-action", "0.1.0")
        .await
        .expect("publish");
    let bound = attach(h, &alpha, POST_LOGIN, "secret-action", json!({}), false)
        .await
        .expect("attach");
    let alpha_run = h
        .execute_when(
            "alpha",
            POST_LOGIN,
            &login_event("a@alpha.test"),
            &[bound.id.as_str()],
        )
        .await;
    runs_when(h, &alpha, pb::ListRunsRequest::default(), |r| !r.is_empty()).await;

    let not_found = |result: Result<_, tonic::Status>, rpc: &str| match result {
        Ok(_) => panic!("{rpc} with beta's token reached alpha's data"),
        Err(status) => assert_eq!(status.code(), Code::NotFound, "{rpc}: {status:?}"),
    };
    let slug = || "secret-action".to_owned();
    let mut actions = h.actions();
    not_found(
        actions
            .get_action(auth(pb::GetActionRequest { slug: slug() }, &beta))
            .await
            .map(drop),
        "GetAction",
    );
    not_found(
        save(
            h,
            &beta,
            "secret-action",
            "",
            "",
            source("export async function execute() {}"),
        )
        .await
        .map(drop),
        "SaveVersion",
    );
    not_found(
        actions
            .list_versions(auth(
                pb::ListVersionsRequest {
                    slug: slug(),
                    ..Default::default()
                },
                &beta,
            ))
            .await
            .map(drop),
        "ListVersions",
    );
    not_found(
        actions
            .get_version_source(auth(
                pb::GetVersionSourceRequest {
                    slug: slug(),
                    version: "0.1.0".into(),
                },
                &beta,
            ))
            .await
            .map(drop),
        "GetVersionSource",
    );
    not_found(
        publish(h, &beta, "secret-action", "0.1.0").await.map(drop),
        "PublishVersion",
    );
    not_found(
        actions
            .delete_action(auth(pb::DeleteActionRequest { slug: slug() }, &beta))
            .await
            .map(drop),
        "DeleteAction",
    );
    not_found(
        attach(h, &beta, POST_LOGIN, "secret-action", json!({}), false)
            .await
            .map(drop),
        "AttachAction",
    );
    let mut flows = h.flows();
    not_found(
        flows
            .move_binding(auth(
                pb::MoveBindingRequest {
                    binding_id: bound.id.clone(),
                    position: 0,
                },
                &beta,
            ))
            .await
            .map(drop),
        "MoveBinding",
    );
    not_found(
        flows
            .update_binding(auth(
                pb::UpdateBindingRequest {
                    binding_id: bound.id.clone(),
                    fail_open: Some(true),
                    ..Default::default()
                },
                &beta,
            ))
            .await
            .map(drop),
        "UpdateBinding",
    );
    not_found(
        flows
            .detach_binding(auth(
                pb::DetachBindingRequest {
                    binding_id: bound.id.clone(),
                },
                &beta,
            ))
            .await
            .map(drop),
        "DetachBinding",
    );
    not_found(
        h.tests()
            .test_version(auth(
                pb::TestVersionRequest {
                    slug: slug(),
                    version: "0.1.0".into(),
                    trigger: POST_LOGIN.into(),
                    event_json: login_event("b@beta.test"),
                    config_json: String::new(),
                    ..Default::default()
                },
                &beta,
            ))
            .await
            .map(drop),
        "TestVersion",
    );
    not_found(
        h.audit()
            .get_run(auth(
                pb::GetRunRequest {
                    run_id: alpha_run.run_id.clone(),
                },
                &beta,
            ))
            .await
            .map(drop),
        "GetRun",
    );
    // Lists show beta nothing of alpha's.
    let listed = actions
        .list_actions(auth(pb::ListActionsRequest::default(), &beta))
        .await
        .expect("ListActions")
        .into_inner();
    assert!(listed.actions.is_empty(), "ListActions: {listed:?}");
    assert!(
        slot_bindings(h, &beta, POST_LOGIN).await.is_empty(),
        "ListFlows"
    );
    let slot_test = h
        .tests()
        .test_slot(auth(
            pb::TestSlotRequest {
                trigger: POST_LOGIN.into(),
                event_json: login_event("b@beta.test"),
                ..Default::default()
            },
            &beta,
        ))
        .await
        .expect("TestSlot")
        .into_inner();
    assert!(
        slot_test.bindings.is_empty(),
        "TestSlot ran alpha's bindings: {slot_test:?}"
    );
    let beta_events = audit_events(h, &beta, "").await;
    assert!(
        beta_events
            .iter()
            .all(|e| !e.subject.contains("secret-action") && !e.actor.starts_with("alpha")),
        "ListAuditEvents: {beta_events:?}"
    );
    assert!(
        runs(
            h,
            &beta,
            pb::ListRunsRequest {
                include_tests: true,
                ..Default::default()
            }
        )
        .await
        .iter()
        .all(|r| r.tenant == "beta"),
        "ListRuns"
    );
    // The runner runs only beta's (empty) slot for beta.
    let beta_exec = h
        .execute("beta", POST_LOGIN, &login_event("b@beta.test"))
        .await
        .expect("execute");
    assert!(beta_exec.bindings.is_empty());

    // Tail: beta's tail sees its own change and nothing of alpha's before it.
    let mut tail = h
        .audit()
        .tail(auth(
            pb::TailRequest {
                audit: true,
                runs: false,
            },
            &beta,
        ))
        .await
        .expect("Tail")
        .into_inner();
    save(
        h,
        &alpha,
        "secret-action",
        "",
        "",
        source("export async function execute() {}"),
    )
    .await
    .expect("alpha saves");
    create(
        h,
        &beta,
        "secret-action",
        &[POST_LOGIN],
        "",
        source("export async function execute() {}"),
    )
    .await
    .expect("beta's own slug space");
    let first = tokio::time::timeout(Duration::from_secs(10), tail.message())
        .await
        .expect("beta's tail answers")
        .expect("tail")
        .expect("an event");
    match first.event {
        Some(Event::Audit(event)) => {
            assert_eq!(event.kind, "action.created");
            assert_eq!(event.actor, "beta-dev");
        }
        other => panic!("beta's tail saw {other:?}"),
    }
    let alpha_action = actions
        .get_action(auth(pb::GetActionRequest { slug: slug() }, &alpha))
        .await
        .expect("alpha's action")
        .into_inner();
    assert_eq!(alpha_action.latest_version, "0.1.1");
    assert_eq!(alpha_action.bindings, 1);
    assert_eq!(alpha_action.live_versions, ["0.1.0"]);

    // Tenant management takes the operator token; the operator token
    // manages nothing inside a tenant.
    let mut tenants = h.tenants();
    let denied = |result: Result<_, tonic::Status>, rpc: &str| match result {
        Ok(_) => panic!("{rpc} with a tenant token succeeded"),
        Err(status) => assert_eq!(status.code(), Code::PermissionDenied, "{rpc}: {status:?}"),
    };
    denied(
        tenants
            .create_tenant(auth(
                pb::CreateTenantRequest {
                    id: "gamma".into(),
                    name: String::new(),
                },
                &beta,
            ))
            .await
            .map(drop),
        "CreateTenant",
    );
    denied(
        tenants
            .list_tenants(auth(pb::ListTenantsRequest::default(), &beta))
            .await
            .map(drop),
        "ListTenants",
    );
    denied(
        tenants
            .create_token(auth(
                pb::CreateTokenRequest {
                    tenant: "alpha".into(),
                    name: "x".into(),
                },
                &beta,
            ))
            .await
            .map(drop),
        "CreateToken",
    );
    denied(
        tenants
            .list_tokens(auth(
                pb::ListTokensRequest {
                    tenant: "alpha".into(),
                },
                &beta,
            ))
            .await
            .map(drop),
        "ListTokens",
    );
    denied(
        tenants
            .revoke_token(auth(pb::RevokeTokenRequest { id: "tok_x".into() }, &beta))
            .await
            .map(drop),
        "RevokeToken",
    );
    denied(
        actions
            .list_actions(auth(pb::ListActionsRequest::default(), OPERATOR))
            .await
            .map(drop),
        "ListActions as operator",
    );

    // No token, an unknown one, a revoked one.
    let unauthenticated = actions
        .list_actions(tonic::Request::new(pb::ListActionsRequest::default()))
        .await
        .expect_err("no token");
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
    let unknown = actions
        .list_actions(auth(pb::ListActionsRequest::default(), "act_not-a-token"))
        .await
        .expect_err("unknown token");
    assert_eq!(unknown.code(), Code::Unauthenticated);
    let tokens = tenants
        .list_tokens(auth(
            pb::ListTokensRequest {
                tenant: "beta".into(),
            },
            OPERATOR,
        ))
        .await
        .expect("list tokens")
        .into_inner()
        .tokens;
    tenants
        .revoke_token(auth(
            pb::RevokeTokenRequest {
                id: tokens[0].id.clone(),
            },
            OPERATOR,
        ))
        .await
        .expect("revoke");
    let revoked = actions
        .list_actions(auth(pb::ListActionsRequest::default(), &beta))
        .await
        .expect_err("revoked token");
    assert_eq!(revoked.code(), Code::Unauthenticated);
}
