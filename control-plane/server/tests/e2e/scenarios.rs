//! The scenarios, each run on both databases.

use crate::harness::{Harness, OPERATOR, auth, examples};
use actions_proto::controlplane::v1::{self as pb, tail_event::Event};
use actions_proto::runner::v1::{Decision, ExecuteResponse, Outcome};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tonic::Code;

fn source(text: &str) -> pb::Source {
    pb::Source {
        files: [("src/index.ts".to_owned(), text.to_owned())].into(),
        entry: "src/index.ts".into(),
    }
}

fn pattern(name: &str) -> pb::Source {
    let path = examples().join("patterns").join(name).join("src/index.ts");
    source(&std::fs::read_to_string(&path).expect("pattern source"))
}

fn event(path: &str) -> String {
    std::fs::read_to_string(examples().join(path)).expect("event")
}

fn claims(response: &ExecuteResponse) -> Value {
    serde_json::from_str(&response.access_token_claims_json).expect("claims JSON")
}

async fn create(
    h: &Harness,
    token: &str,
    slug: &str,
    triggers: &[&str],
    schema: &str,
    source: pb::Source,
) -> Result<pb::SaveVersionResponse, tonic::Status> {
    h.actions()
        .create_action(auth(
            pb::CreateActionRequest {
                slug: slug.into(),
                name: format!("The {slug} Action"),
                triggers: triggers.iter().map(|t| (*t).to_owned()).collect(),
                config_schema_json: schema.into(),
                version: String::new(),
                source: Some(source),
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn save(
    h: &Harness,
    token: &str,
    slug: &str,
    version: &str,
    schema: &str,
    source: pb::Source,
) -> Result<pb::Version, tonic::Status> {
    h.actions()
        .save_version(auth(
            pb::SaveVersionRequest {
                slug: slug.into(),
                version: version.into(),
                triggers: Vec::new(),
                config_schema_json: schema.into(),
                source: Some(source),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner().version.expect("version"))
}

async fn publish(
    h: &Harness,
    token: &str,
    slug: &str,
    version: &str,
) -> Result<pb::Version, tonic::Status> {
    h.actions()
        .publish_version(auth(
            pb::PublishVersionRequest {
                slug: slug.into(),
                version: version.into(),
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn attach(
    h: &Harness,
    token: &str,
    trigger: &str,
    slug: &str,
    config: Value,
    fail_open: bool,
) -> Result<pb::SlotBinding, tonic::Status> {
    h.flows()
        .attach_action(auth(
            pb::AttachActionRequest {
                trigger: trigger.into(),
                action_slug: slug.into(),
                major: None,
                position: None,
                config_json: config.to_string(),
                fail_open,
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn slot_bindings(h: &Harness, token: &str, trigger: &str) -> Vec<pb::SlotBinding> {
    h.flows()
        .list_flows(auth(pb::ListFlowsRequest {}, token))
        .await
        .expect("list flows")
        .into_inner()
        .flows
        .into_iter()
        .flat_map(|f| f.slots)
        .filter(|s| s.trigger == trigger)
        .flat_map(|s| s.bindings)
        .collect()
}

async fn runs(h: &Harness, token: &str, filter: pb::ListRunsRequest) -> Vec<pb::RunRecord> {
    h.audit()
        .list_runs(auth(filter, token))
        .await
        .expect("list runs")
        .into_inner()
        .runs
}

/// Lists runs until `enough` says the list is complete: records travel
/// from the runner's spool to the control plane in the background.
async fn runs_when(
    h: &Harness,
    token: &str,
    filter: pb::ListRunsRequest,
    enough: impl Fn(&[pb::RunRecord]) -> bool,
) -> Vec<pb::RunRecord> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = runs(h, token, filter.clone()).await;
        if enough(&found) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "runs never arrived; have {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn audit_events(h: &Harness, token: &str, kind: &str) -> Vec<pb::AuditEvent> {
    h.audit()
        .list_audit_events(auth(
            pb::ListAuditEventsRequest {
                kind: kind.into(),
                page_size: 500,
                page_token: String::new(),
            },
            token,
        ))
        .await
        .expect("list audit events")
        .into_inner()
        .events
}

const LOGIN: &str = "login.pre-credential-check";
const POST_LOGIN: &str = "login.post-login";
const POST_CREATE: &str = "registration.post-create";

pub async fn the_product_guides_patterns_end_to_end(h: &Harness) {
    let token = h.tenant("acme").await;
    let patterns = [
        ("block-by-email-domain", "block-by-email-domain", LOGIN),
        ("decorate-token-tier", "custom-claim", POST_LOGIN),
        ("webhook-on-signup", "webhook-on-signup", POST_CREATE),
    ];
    let mut bindings = std::collections::HashMap::new();
    for (slug, dir, trigger) in patterns {
        let saved = create(h, &token, slug, &[trigger], "", pattern(dir))
            .await
            .expect("create the pattern");
        assert!(saved.created);
        let version = saved.version.expect("version");
        assert_eq!(version.version, "0.1.0");
        assert_eq!(version.module_sha256.len(), 64);
        let published = publish(h, &token, slug, "0.1.0").await.expect("publish");
        assert!(published.live);
        let binding = attach(h, &token, trigger, slug, json!({}), false)
            .await
            .expect("attach");
        assert_eq!(binding.version, "0.1.0");
        bindings.insert(slug, binding.id);
    }
    // A logging Action after the claim, to find its lines in the run records.
    create(
        h,
        &token,
        "login-logger",
        &[POST_LOGIN],
        "",
        source(
            "export async function execute(event, api) {\n  console.log(`login by ${event.user.email}`);\n  return api.access.allow();\n}\n",
        ),
    )
    .await
    .expect("create the logger");
    publish(h, &token, "login-logger", "0.1.0")
        .await
        .expect("publish");
    let logger = attach(h, &token, POST_LOGIN, "login-logger", json!({}), true)
        .await
        .expect("attach the logger");

    let block = bindings["block-by-email-domain"].as_str();
    let denied = h
        .execute_when(
            "acme",
            LOGIN,
            &event("patterns/block-by-email-domain/events/outside.json"),
            &[block],
        )
        .await;
    assert_eq!(denied.decision(), Decision::Deny);
    assert!(
        denied.deny_reason.contains("example.com"),
        "{}",
        denied.deny_reason
    );
    let allowed = h
        .execute(
            "acme",
            LOGIN,
            &event("patterns/block-by-email-domain/events/inside.json"),
        )
        .await
        .expect("execute");
    assert_eq!(allowed.decision(), Decision::Allow);

    let tier = bindings["decorate-token-tier"].as_str();
    let gold = h
        .execute_when(
            "acme",
            POST_LOGIN,
            &event("patterns/custom-claim/events/gold-user.json"),
            &[tier, logger.id.as_str()],
        )
        .await;
    assert_eq!(gold.decision(), Decision::Allow);
    assert_eq!(claims(&gold)["https://cymmetri.com/tier"], "gold");

    let mut signup: Value =
        serde_json::from_str(&event("patterns/webhook-on-signup/events/signup.json"))
            .expect("JSON");
    signup["client"]["metadata"]["webhook_url"] = json!(h.webhook_url);
    let hook = bindings["webhook-on-signup"].as_str();
    let signed_up = h
        .execute_when("acme", POST_CREATE, &signup.to_string(), &[hook])
        .await;
    assert_eq!(signed_up.decision(), Decision::Allow, "{signed_up:?}");
    let received = h.webhooks.lock().expect("lock").clone();
    assert!(
        received
            .iter()
            .any(|b| b.contains("user.signed_up") && b.contains("u_new")),
        "{received:?}"
    );

    // The run records: the deny, with its Action, and the logger's line.
    let denies = runs_when(
        h,
        &token,
        pb::ListRunsRequest {
            action_slug: "block-by-email-domain".into(),
            decision: "deny".into(),
            ..Default::default()
        },
        |r| !r.is_empty(),
    )
    .await;
    assert!(
        denies
            .iter()
            .all(|r| r.decision == "deny" && r.tenant == "acme")
    );
    assert!(denies[0].deny_reason.contains("example.com"));
    let logged = runs_when(
        h,
        &token,
        pb::ListRunsRequest {
            trigger: POST_LOGIN.into(),
            ..Default::default()
        },
        |r| {
            r.iter().any(|run| {
                run.bindings
                    .iter()
                    .flat_map(|b| &b.logs)
                    .any(|l| l.message == "login by ada@example.com")
            })
        },
    )
    .await;
    assert!(logged.iter().all(|r| r.trigger == POST_LOGIN));
    let by_flow = runs_when(
        h,
        &token,
        pb::ListRunsRequest {
            flow: "registration".into(),
            ..Default::default()
        },
        |r| !r.is_empty(),
    )
    .await;
    assert!(by_flow.iter().all(|r| r.trigger == POST_CREATE));
    let started = denies[0].started_at_ms;
    let window = |since_ms, until_ms| pb::ListRunsRequest {
        since_ms,
        until_ms,
        decision: "deny".into(),
        ..Default::default()
    };
    assert_eq!(runs(h, &token, window(started, started + 1)).await.len(), 1);
    assert!(runs(h, &token, window(started + 1, 0)).await.is_empty());
    assert!(runs(h, &token, window(0, started)).await.is_empty());
    let run = h
        .audit()
        .get_run(auth(
            pb::GetRunRequest {
                run_id: denied.run_id.clone(),
            },
            &token,
        ))
        .await
        .expect("get the run")
        .into_inner();
    assert_eq!(run.bindings[0].action_slug, "block-by-email-domain");
    assert_eq!(run.bindings[0].outcome, "denied");

    let published = audit_events(h, &token, "flow.action_published").await;
    let subjects: Vec<&str> = published.iter().map(|e| e.subject.as_str()).collect();
    for subject in [
        "block-by-email-domain@0.1.0",
        "decorate-token-tier@0.1.0",
        "webhook-on-signup@0.1.0",
        "login-logger@0.1.0",
    ] {
        assert!(subjects.contains(&subject), "{subjects:?}");
    }
    assert!(
        published
            .iter()
            .all(|e| e.actor == "acme-dev" && e.at_ms > 0)
    );
}

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

fn login_event(email: &str) -> String {
    json!({ "user": { "id": "u1", "email": email, "app_metadata": {} }, "request": {}, "client": {}, "connection": {} })
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

pub async fn versions_are_compiled_immutable_and_only_go_forward(h: &Harness) {
    let token = h.tenant("acme").await;
    let ok = "export async function execute(event, api) { return api.access.allow(); }\n";
    let broken = create(
        h,
        &token,
        "counter",
        &[LOGIN],
        "",
        source("export async function execute( {\n  x\n}\n"),
    )
    .await
    .expect_err("does not compile");
    assert_eq!(broken.code(), Code::InvalidArgument);
    assert!(
        broken.message().contains("src/index.ts:"),
        "{}",
        broken.message()
    );
    let nothing = h
        .actions()
        .get_action(auth(
            pb::GetActionRequest {
                slug: "counter".into(),
            },
            &token,
        ))
        .await;
    assert_eq!(nothing.expect_err("nothing stored").code(), Code::NotFound);

    for (slug, triggers, schema, why) in [
        ("Bad Slug", vec![LOGIN], "", "slug"),
        ("counter", vec!["login.nope"], "", "unknown trigger"),
        ("counter", vec![], "", "no trigger"),
        ("counter", vec![LOGIN], r#"{"type": 12}"#, "invalid schema"),
        ("counter", vec![LOGIN], "{not json", "schema not JSON"),
    ] {
        let refused = create(h, &token, slug, &triggers, schema, source(ok))
            .await
            .expect_err(why);
        assert_eq!(refused.code(), Code::InvalidArgument, "{why}: {refused:?}");
    }

    let first = create(h, &token, "counter", &[LOGIN], "", source(ok))
        .await
        .expect("create");
    assert_eq!(first.version.expect("v").version, "0.1.0");
    let again = create(h, &token, "counter", &[LOGIN], "", source(ok))
        .await
        .expect_err("twice");
    assert_eq!(again.code(), Code::AlreadyExists);
    assert_eq!(
        save(h, &token, "counter", "", "", source(ok))
            .await
            .expect("bump")
            .version,
        "0.1.1"
    );
    for backwards in ["0.1.1", "0.1.0"] {
        let refused = save(h, &token, "counter", backwards, "", source(ok))
            .await
            .expect_err(backwards);
        assert_eq!(refused.code(), Code::FailedPrecondition);
    }
    let bad_version = save(h, &token, "counter", "v1", "", source(ok))
        .await
        .expect_err("not semver");
    assert_eq!(bad_version.code(), Code::InvalidArgument);
    assert_eq!(
        save(h, &token, "counter", "2.0.0", "", source(ok))
            .await
            .expect("2.0.0")
            .version,
        "2.0.0"
    );
    let uncompiled = save(
        h,
        &token,
        "counter",
        "",
        "",
        source("export const nothing = 1;\n"),
    )
    .await
    .expect_err("no execute");
    assert_eq!(uncompiled.code(), Code::InvalidArgument);
    assert_eq!(
        save(h, &token, "counter", "", "", source(ok))
            .await
            .expect("bump")
            .version,
        "2.0.1"
    );

    let mut actions = h.actions();
    let page = actions
        .list_versions(auth(
            pb::ListVersionsRequest {
                slug: "counter".into(),
                page_size: 3,
                page_token: String::new(),
            },
            &token,
        ))
        .await
        .expect("versions")
        .into_inner();
    let numbers: Vec<&str> = page.versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(numbers, ["2.0.1", "2.0.0", "0.1.1"]);
    let rest = actions
        .list_versions(auth(
            pb::ListVersionsRequest {
                slug: "counter".into(),
                page_size: 3,
                page_token: page.next_page_token,
            },
            &token,
        ))
        .await
        .expect("versions")
        .into_inner();
    assert_eq!(
        rest.versions
            .iter()
            .map(|v| v.version.as_str())
            .collect::<Vec<_>>(),
        ["0.1.0"]
    );
    assert!(rest.next_page_token.is_empty());

    let stored = actions
        .get_version_source(auth(
            pb::GetVersionSourceRequest {
                slug: "counter".into(),
                version: "0.1.0".into(),
            },
            &token,
        ))
        .await
        .expect("source")
        .into_inner();
    assert_eq!(stored.source.expect("source").files["src/index.ts"], ok);
    assert!(stored.javascript.contains("access.allow"));
    let missing = actions
        .get_version_source(auth(
            pb::GetVersionSourceRequest {
                slug: "counter".into(),
                version: "9.9.9".into(),
            },
            &token,
        ))
        .await
        .expect_err("no such version");
    assert_eq!(missing.code(), Code::NotFound);

    let deleted = actions
        .delete_action(auth(
            pb::DeleteActionRequest {
                slug: "counter".into(),
            },
            &token,
        ))
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(deleted.versions_deleted, 4);
    let saved = audit_events(h, &token, "action.version_saved").await;
    assert_eq!(
        saved.len(),
        4,
        "the audit keeps the history of a deleted Action"
    );
}

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

pub async fn test_runs_use_the_sandbox_and_change_no_flow(h: &Harness) {
    let token = h.tenant("acme").await;
    let schema = json!({ "type": "object", "required": ["value"], "properties": { "value": { "type": "string" } } }).to_string();
    create(
        h,
        &token,
        "tester",
        &[POST_LOGIN],
        &schema,
        source("export async function execute(event, api) { console.log('testing', event.config.value); api.accessToken.setCustomClaim('https://x/v', event.config.value); }"),
    )
    .await
    .expect("create");
    let mut tests = h.tests();
    let test = |config: Value, trigger: &str, event_json: String| pb::TestVersionRequest {
        slug: "tester".into(),
        version: String::new(),
        trigger: trigger.into(),
        event_json,
        config_json: config.to_string(),
    };
    let answer = tests
        .test_version(auth(
            test(json!({ "value": "x" }), POST_LOGIN, login_event("t@t.t")),
            &token,
        ))
        .await
        .expect("test the unpublished version")
        .into_inner();
    assert_eq!(answer.decision(), Decision::Allow);
    assert_eq!(claims(&answer)["https://x/v"], "x");
    let binding = &answer.bindings[0];
    assert!(binding.fuel > 0 && binding.duration_us > 0, "{binding:?}");
    assert_eq!(binding.logs[0].message, "testing x");

    for (request, code) in [
        (
            test(json!({ "value": 1 }), POST_LOGIN, login_event("t@t.t")),
            Code::FailedPrecondition,
        ),
        (
            test(json!({ "value": "x" }), POST_LOGIN, "{".into()),
            Code::InvalidArgument,
        ),
        (
            test(json!({ "value": "x" }), LOGIN, login_event("t@t.t")),
            Code::FailedPrecondition,
        ),
        (
            test(json!({ "value": "x" }), "nope", login_event("t@t.t")),
            Code::InvalidArgument,
        ),
    ] {
        let refused = tests
            .test_version(auth(request, &token))
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), code, "{refused:?}");
    }

    create(
        h,
        &token,
        "spinner",
        &[POST_LOGIN],
        "",
        source("export async function execute() { while (true) {} }"),
    )
    .await
    .expect("create a hostile Action");
    let spun = tests
        .test_version(auth(
            pb::TestVersionRequest {
                slug: "spinner".into(),
                trigger: POST_LOGIN.into(),
                event_json: login_event("t@t.t"),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("a test run of a hostile Action answers")
        .into_inner();
    assert_eq!(spun.decision(), Decision::Deny);
    assert!(
        matches!(
            spun.bindings[0].outcome(),
            Outcome::OutOfFuel | Outcome::DeadlineExceeded
        ),
        "{spun:?}"
    );

    publish(h, &token, "tester", "0.1.0")
        .await
        .expect("publish");
    let bound = attach(
        h,
        &token,
        POST_LOGIN,
        "tester",
        json!({ "value": "live" }),
        false,
    )
    .await
    .expect("attach");
    let slot = tests
        .test_slot(auth(
            pb::TestSlotRequest {
                trigger: POST_LOGIN.into(),
                event_json: login_event("t@t.t"),
            },
            &token,
        ))
        .await
        .expect("test the slot")
        .into_inner();
    assert_eq!(
        slot.bindings
            .iter()
            .map(|b| b.binding_id.as_str())
            .collect::<Vec<_>>(),
        [bound.id.as_str()]
    );
    assert_eq!(claims(&slot)["https://x/v"], "live");

    // Tests changed no flow and are recorded as tests, which lists leave out
    // unless asked.
    assert_eq!(slot_bindings(h, &token, POST_LOGIN).await.len(), 1);
    let with_tests = runs_when(
        h,
        &token,
        pb::ListRunsRequest {
            include_tests: true,
            ..Default::default()
        },
        |r| r.len() >= 3,
    )
    .await;
    assert!(with_tests.iter().all(|r| r.test));
    assert!(
        runs(h, &token, pb::ListRunsRequest::default())
            .await
            .is_empty()
    );
    let fuel_runs = runs(
        h,
        &token,
        pb::ListRunsRequest {
            include_tests: true,
            outcome: "out_of_fuel".into(),
            ..Default::default()
        },
    )
    .await;
    let deadline_runs = runs(
        h,
        &token,
        pb::ListRunsRequest {
            include_tests: true,
            outcome: "deadline_exceeded".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(fuel_runs.len() + deadline_runs.len(), 1);
}

fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, *bytes)
            .expect("append");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

/// A tar.gz with one raw header: a path or a kind `tar::Builder` would refuse to write.
fn hostile_tar_gz(path: &[u8], kind: tar::EntryType, link: Option<&str>) -> Vec<u8> {
    let manifest = br#"{"name":"x","slug":"x","triggers":["login.post-login"]}"#;
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, "action.json", &manifest[..])
        .expect("append");
    let body = b"export async function execute() {}";
    let mut raw = tar::Header::new_gnu();
    raw.as_gnu_mut().expect("gnu").name[..path.len()].copy_from_slice(path);
    raw.set_entry_type(kind);
    raw.set_mode(0o644);
    if let Some(target) = link {
        raw.set_link_name(target).expect("link name");
    }
    let size = if kind == tar::EntryType::Regular {
        body.len()
    } else {
        0
    };
    raw.set_size(size as u64);
    raw.set_cksum();
    builder.append(&raw, &body[..size]).expect("append raw");
    builder.into_inner().expect("tar").finish().expect("gzip")
}

pub async fn packages_upload_and_hostile_archives_are_refused(h: &Harness) {
    let token = h.tenant("acme").await;
    let upload = |bytes: Vec<u8>| {
        let mut actions = h.actions();
        let token = token.clone();
        async move {
            actions
                .upload_package(auth(
                    pb::UploadPackageRequest {
                        package_tar_gz: bytes,
                    },
                    &token,
                ))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let manifest = |version: Option<&str>| {
        let mut m = json!({
            "name": "Packaged", "slug": "packaged", "triggers": [POST_LOGIN],
            "config_schema": { "type": "object" }
        });
        if let Some(v) = version {
            m["version"] = json!(v);
        }
        m.to_string()
    };
    let index = b"import { tier } from './tier';\nexport async function execute(event, api) { api.accessToken.setCustomClaim('https://x/t', tier(event)); }\n";
    let tier = b"export function tier(event: any): string { return event.user.app_metadata?.tier ?? 'free'; }\n";
    let first = upload(tar_gz(&[
        ("action.json", manifest(Some("1.2.0")).as_bytes()),
        ("src/index.ts", index),
        ("src/tier.ts", tier),
        ("tests/case.json", b"{}"),
    ]))
    .await
    .expect("upload");
    assert!(first.created);
    assert_eq!(first.version.expect("v").version, "1.2.0");
    let repeat = upload(tar_gz(&[
        ("action.json", manifest(Some("1.2.0")).as_bytes()),
        ("src/index.ts", index),
        ("src/tier.ts", tier),
    ]))
    .await
    .expect_err("the same version twice");
    assert_eq!(repeat.code(), Code::FailedPrecondition);
    let wrapped = upload(tar_gz(&[
        ("packaged/action.json", manifest(None).as_bytes()),
        ("packaged/src/index.ts", index),
        ("packaged/src/tier.ts", tier),
    ]))
    .await
    .expect("a package made from its folder");
    assert!(!wrapped.created);
    assert_eq!(wrapped.version.expect("v").version, "1.2.1");

    let hostile: Vec<(&str, Vec<u8>)> = vec![
        (
            "a path climbing out",
            hostile_tar_gz(b"../evil.ts", tar::EntryType::Regular, None),
        ),
        (
            "an absolute path",
            hostile_tar_gz(b"/etc/evil.ts", tar::EntryType::Regular, None),
        ),
        (
            "a symlink",
            hostile_tar_gz(
                b"src/index.ts",
                tar::EntryType::Symlink,
                Some("/etc/passwd"),
            ),
        ),
        (
            "a hard link",
            hostile_tar_gz(b"src/index.ts", tar::EntryType::Link, Some("action.json")),
        ),
        (
            "a device",
            hostile_tar_gz(b"src/dev.ts", tar::EntryType::Char, None),
        ),
        (
            "a pipe",
            hostile_tar_gz(b"src/pipe.ts", tar::EntryType::Fifo, None),
        ),
        ("no manifest", tar_gz(&[("src/index.ts", index)])),
        (
            "no sources",
            tar_gz(&[("action.json", manifest(None).as_bytes())]),
        ),
        (
            "an unknown manifest field",
            tar_gz(&[
                (
                    "action.json",
                    br#"{"name":"x","slug":"x","triggers":[],"entry":"x"}"#,
                ),
                ("src/index.ts", index),
            ]),
        ),
        ("not gzip", b"this is not a tarball".to_vec()),
        ("empty", Vec::new()),
        ("too large", {
            let mut noise = vec![0u8; 5 * 1024 * 1024];
            getrandom::fill(&mut noise).expect("random");
            noise
        }),
    ];
    for (why, bytes) in hostile {
        let refused = upload(bytes).await.expect_err(why);
        assert_eq!(refused.code(), Code::InvalidArgument, "{why}: {refused:?}");
        assert!(
            refused.message().starts_with("package:"),
            "{why}: {}",
            refused.message()
        );
    }
    let listed = h
        .actions()
        .list_actions(auth(pb::ListActionsRequest::default(), &token))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.actions.len(), 1, "hostile uploads stored nothing");
    assert_eq!(listed.actions[0].latest_version, "1.2.1");
}

/// PostgreSQL only: the database goes away under a running control plane.
/// Calls fail with `UNAVAILABLE` naming the database, nothing half-written
/// survives, the runner keeps serving its flows, and everything works again
/// once the database is back.
pub async fn the_database_going_away_is_clear_and_loses_nothing(h: &Harness) {
    let token = h.tenant("acme").await;
    create(
        h,
        &token,
        "steady",
        &[POST_LOGIN],
        "",
        pattern("custom-claim"),
    )
    .await
    .expect("create");
    publish(h, &token, "steady", "0.1.0")
        .await
        .expect("publish");
    let binding = attach(h, &token, POST_LOGIN, "steady", json!({}), false)
        .await
        .expect("attach");
    let gold = event("patterns/custom-claim/events/gold-user.json");
    let before = h
        .execute_when("acme", POST_LOGIN, &gold, &[binding.id.as_str()])
        .await;
    assert_eq!(before.decision(), Decision::Allow);

    assert!(h.database_available(false).await, "a PostgreSQL harness");
    let refused = save(h, &token, "steady", "0.2.0", "", pattern("custom-claim"))
        .await
        .expect_err("no database, no save");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("database"), "{refused:?}");
    let listing = h
        .actions()
        .list_versions(auth(
            pb::ListVersionsRequest {
                slug: "steady".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect_err("no database, no listing");
    assert_eq!(listing.code(), Code::Unavailable, "{listing:?}");
    // The runner serves from the flows it has.
    let during = h
        .execute("acme", POST_LOGIN, &gold)
        .await
        .expect("the runner still serves");
    assert_eq!(during.decision(), Decision::Allow);
    assert_eq!(claims(&during), claims(&before));

    assert!(h.database_available(true).await);
    let started = Instant::now();
    let versions = loop {
        match h
            .actions()
            .list_versions(auth(
                pb::ListVersionsRequest {
                    slug: "steady".into(),
                    ..Default::default()
                },
                &token,
            ))
            .await
        {
            Ok(response) => break response.into_inner().versions,
            Err(status) => {
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "the control plane did not recover: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let stored: Vec<&str> = versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(stored, ["0.1.0"], "the refused save left nothing behind");
    let saved = save(h, &token, "steady", "0.2.0", "", pattern("custom-claim"))
        .await
        .expect("saves once the database is back");
    assert_eq!(saved.version, "0.2.0");
}

/// Every kind of bad input, after some real state exists: each is refused
/// with its own status code and a message, and afterwards every row of every
/// table is exactly what it was.
pub async fn bad_input_leaves_the_store_exactly_as_it_was(h: &Harness) {
    let token = h.tenant("acme").await;
    let other = h.tenant("globex").await;
    let schema = r#"{"type":"object","properties":{"claim":{"type":"string"}},"additionalProperties":false}"#;
    create(
        h,
        &token,
        "tiered",
        &[POST_LOGIN],
        schema,
        pattern("custom-claim"),
    )
    .await
    .expect("create");
    publish(h, &token, "tiered", "0.1.0")
        .await
        .expect("publish");
    let binding = attach(
        h,
        &token,
        POST_LOGIN,
        "tiered",
        json!({ "claim": "https://x/t" }),
        false,
    )
    .await
    .expect("attach");
    create(
        h,
        &other,
        "theirs",
        &[POST_LOGIN],
        "",
        pattern("custom-claim"),
    )
    .await
    .expect("the other tenant's Action");
    publish(h, &other, "theirs", "0.1.0")
        .await
        .expect("publish");
    let theirs = attach(h, &other, POST_LOGIN, "theirs", json!({}), false)
        .await
        .expect("the other tenant's binding");
    let before = h.store_dump().await;
    assert!(before.len() > 10, "there is state to keep: {before:?}");
    assert!(
        before.iter().any(|line| line.contains(&binding.id))
            && !before.iter().any(|line| line.contains("=<")),
        "the dump reads every value: {before:#?}"
    );

    let ok = "export async function execute(event: any, api: any) { return api.access.allow(); }";
    let manifest = br#"{"name":"Packaged","slug":"packaged","triggers":["login.post-login"]}"#;
    let bomb = {
        // 1 GiB of zeros in a few MiB of gzip: refused at the unpacked limit.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mut header = tar::Header::new_gnu();
        header.set_size(1 << 30);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_path("src/index.ts").expect("path");
        header.set_cksum();
        use std::io::Write as _;
        encoder.write_all(header.as_bytes()).expect("header");
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            encoder.write_all(&zeros).expect("zeros");
        }
        encoder.finish().expect("gzip")
    };
    let not_utf8 = tar_gz(&[
        ("action.json", manifest),
        ("src/index.ts", b"export const x = '\xff\xfe';\n"),
    ]);
    let oversized = format!("{ok}\n// {}\n", "x".repeat(5 * 1024 * 1024));
    let mut actions = h.actions();
    let mut flows = h.flows();
    let mut cases: Vec<(&str, Code, Result<(), tonic::Status>)> = Vec::new();
    let mut case = |why: &'static str, code: Code, result: Result<(), tonic::Status>| {
        cases.push((why, code, result));
    };
    case(
        "duplicate slug",
        Code::AlreadyExists,
        create(h, &token, "tiered", &[POST_LOGIN], "", source(ok))
            .await
            .map(drop),
    );
    case(
        "invalid slug",
        Code::InvalidArgument,
        create(h, &token, "Not A Slug!", &[POST_LOGIN], "", source(ok))
            .await
            .map(drop),
    );
    case(
        "invalid JSON Schema",
        Code::InvalidArgument,
        create(
            h,
            &token,
            "fresh",
            &[POST_LOGIN],
            r#"{"type": 12}"#,
            source(ok),
        )
        .await
        .map(drop),
    );
    case(
        "unknown trigger",
        Code::InvalidArgument,
        create(h, &token, "fresh", &["login.nope"], "", source(ok))
            .await
            .map(drop),
    );
    case(
        "malformed TypeScript",
        Code::InvalidArgument,
        create(
            h,
            &token,
            "fresh",
            &[POST_LOGIN],
            "",
            source("export function execute( {"),
        )
        .await
        .map(drop),
    );
    case(
        "oversized source",
        Code::InvalidArgument,
        create(h, &token, "fresh", &[POST_LOGIN], "", source(&oversized))
            .await
            .map(drop),
    );
    case(
        "version repeated",
        Code::FailedPrecondition,
        save(h, &token, "tiered", "0.1.0", schema, source(ok))
            .await
            .map(drop),
    );
    case(
        "version downgraded",
        Code::FailedPrecondition,
        save(h, &token, "tiered", "0.0.9", schema, source(ok))
            .await
            .map(drop),
    );
    case(
        "version not semver",
        Code::InvalidArgument,
        save(h, &token, "tiered", "v2", schema, source(ok))
            .await
            .map(drop),
    );
    case(
        "save to an unknown slug",
        Code::NotFound,
        save(h, &token, "nobody", "", "", source(ok))
            .await
            .map(drop),
    );
    case(
        "save to another tenant's slug",
        Code::NotFound,
        save(h, &token, "theirs", "", "", source(ok))
            .await
            .map(drop),
    );
    case(
        "publish an unknown version",
        Code::NotFound,
        publish(h, &token, "tiered", "9.9.9").await.map(drop),
    );
    case(
        "publish another tenant's Action",
        Code::NotFound,
        publish(h, &token, "theirs", "0.1.0").await.map(drop),
    );
    case(
        "config that does not match the schema",
        Code::FailedPrecondition,
        attach(
            h,
            &token,
            POST_LOGIN,
            "tiered",
            json!({ "claim": 7 }),
            false,
        )
        .await
        .map(drop),
    );
    case(
        "config with an unknown key",
        Code::FailedPrecondition,
        attach(
            h,
            &token,
            POST_LOGIN,
            "tiered",
            json!({ "nope": "x" }),
            false,
        )
        .await
        .map(drop),
    );
    case(
        "incompatible trigger",
        Code::FailedPrecondition,
        attach(h, &token, LOGIN, "tiered", json!({}), false)
            .await
            .map(drop),
    );
    case(
        "attach another tenant's Action",
        Code::NotFound,
        attach(h, &token, POST_LOGIN, "theirs", json!({}), false)
            .await
            .map(drop),
    );
    case(
        "update with a config that does not match",
        Code::FailedPrecondition,
        flows
            .update_binding(auth(
                pb::UpdateBindingRequest {
                    binding_id: binding.id.clone(),
                    config_json: Some(r#"{"claim": false}"#.into()),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .map(drop),
    );
    case(
        "move another tenant's binding",
        Code::NotFound,
        flows
            .move_binding(auth(
                pb::MoveBindingRequest {
                    binding_id: theirs.id.clone(),
                    position: 0,
                },
                &token,
            ))
            .await
            .map(drop),
    );
    case(
        "detach another tenant's binding",
        Code::NotFound,
        flows
            .detach_binding(auth(
                pb::DetachBindingRequest {
                    binding_id: theirs.id.clone(),
                },
                &token,
            ))
            .await
            .map(drop),
    );
    case(
        "detach an unknown binding",
        Code::NotFound,
        flows
            .detach_binding(auth(
                pb::DetachBindingRequest {
                    binding_id: "b_nope".into(),
                },
                &token,
            ))
            .await
            .map(drop),
    );
    case(
        "delete a bound Action",
        Code::FailedPrecondition,
        actions
            .delete_action(auth(
                pb::DeleteActionRequest {
                    slug: "tiered".into(),
                },
                &token,
            ))
            .await
            .map(drop),
    );
    case(
        "delete another tenant's Action",
        Code::NotFound,
        actions
            .delete_action(auth(
                pb::DeleteActionRequest {
                    slug: "theirs".into(),
                },
                &token,
            ))
            .await
            .map(drop),
    );
    case(
        "compression bomb",
        Code::InvalidArgument,
        actions
            .upload_package(auth(
                pb::UploadPackageRequest {
                    package_tar_gz: bomb,
                },
                &token,
            ))
            .await
            .map(drop),
    );
    case(
        "non-UTF-8 source in a package",
        Code::InvalidArgument,
        actions
            .upload_package(auth(
                pb::UploadPackageRequest {
                    package_tar_gz: not_utf8,
                },
                &token,
            ))
            .await
            .map(drop),
    );
    case(
        "a path climbing out of the package",
        Code::InvalidArgument,
        actions
            .upload_package(auth(
                pb::UploadPackageRequest {
                    package_tar_gz: hostile_tar_gz(b"../evil.ts", tar::EntryType::Regular, None),
                },
                &token,
            ))
            .await
            .map(drop),
    );

    let mut failures = Vec::new();
    for (why, code, result) in &cases {
        match result {
            Ok(()) => failures.push(format!("{why}: accepted")),
            Err(status) if status.code() != *code || status.message().is_empty() => {
                failures.push(format!("{why}: expected {code:?}, got {status:?}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let after = h.store_dump().await;
    if after != before {
        let gone: Vec<&String> = before.iter().filter(|l| !after.contains(l)).collect();
        let new: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
        panic!("the store changed:\nremoved {gone:#?}\nadded {new:#?}");
    }
}
