//! The product guide's patterns end to end: created, published, attached and
//! run through the runner, then found again in the run records and the audit.

use super::{
    LOGIN, POST_CREATE, POST_LOGIN, attach, audit_events, claims, create, event, pattern, publish,
    runs, runs_when, source,
};
use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_proto::runner::v1::{Decision, Outcome};
use actions_test_support::auth;
use serde_json::{Value, json};

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
    let received = h.webhooks.bodies();
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
            decision: Decision::Deny as i32,
            ..Default::default()
        },
        |r| !r.is_empty(),
    )
    .await;
    assert!(
        denies
            .iter()
            .all(|r| r.decision() == Decision::Deny && r.tenant == "acme")
    );
    assert!(
        denies[0]
            .response
            .as_ref()
            .expect("response")
            .deny_reason
            .contains("example.com")
    );
    let logged = runs_when(
        h,
        &token,
        pb::ListRunsRequest {
            trigger: POST_LOGIN.into(),
            ..Default::default()
        },
        |r| {
            r.iter().any(|run| {
                run.bindings()
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
        decision: Decision::Deny as i32,
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
    assert_eq!(run.bindings()[0].action_slug, "block-by-email-domain");
    assert_eq!(run.bindings()[0].outcome(), Outcome::Denied);
    // One shape: the record holds exactly what the caller was answered.
    assert_eq!(run.response.as_ref(), Some(&denied));

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
