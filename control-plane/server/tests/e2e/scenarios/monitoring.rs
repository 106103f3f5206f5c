//! What the admin console's second half stands on: a slot tested with a
//! change not yet saved, the audit of one Action with the config and schema
//! changes both ways, and the run statistics a dashboard draws.

use super::{
    POST_LOGIN, attach, audit_events, create, login_event, publish, runs_when, save, slot_bindings,
    source,
};
use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_proto::runner::v1::{Decision, ExecuteResponse, Outcome};
use actions_test_support::auth;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};
use tonic::Code;

const DOMAIN_SCHEMA: &str =
    r#"{"type":"object","required":["domain"],"properties":{"domain":{"type":"string"}}}"#;

fn allowlist() -> pb::Source {
    source(
        "export async function execute(event, api) { \
           const domain = event.user.email.split('@')[1]; \
           if (domain !== event.config.domain) { console.warn('refused ' + domain); \
             return api.access.deny('only ' + event.config.domain); } \
           return api.access.allow(); }",
    )
}

fn tagger() -> pb::Source {
    source(
        "export async function execute(event, api) { console.log('tagging'); \
           api.accessToken.setCustomClaim('https://x/tag', 'on'); }",
    )
}

/// `allowlist` (denying outside `acme.test`) and `tagger`, both published; the
/// allowlist alone bound at POST_LOGIN. Returns the allowlist's binding id.
async fn allowlist_and_tagger(h: &Harness, token: &str) -> String {
    create(
        h,
        token,
        "allowlist",
        &[POST_LOGIN],
        DOMAIN_SCHEMA,
        allowlist(),
    )
    .await
    .expect("create the allowlist");
    publish(h, token, "allowlist", "0.1.0")
        .await
        .expect("publish the allowlist");
    create(h, token, "tagger", &[POST_LOGIN], "", tagger())
        .await
        .expect("create the tagger");
    publish(h, token, "tagger", "0.1.0")
        .await
        .expect("publish the tagger");
    attach(
        h,
        token,
        POST_LOGIN,
        "allowlist",
        json!({ "domain": "acme.test" }),
        false,
    )
    .await
    .expect("attach the allowlist")
    .id
}

fn candidate(binding_id: &str, slug: &str, config: Value) -> pb::CandidateBinding {
    pb::CandidateBinding {
        binding_id: binding_id.into(),
        action_slug: slug.into(),
        config_json: config.to_string(),
        ..Default::default()
    }
}

async fn test_candidate(
    h: &Harness,
    token: &str,
    email: &str,
    candidate: Vec<pb::CandidateBinding>,
) -> Result<ExecuteResponse, tonic::Status> {
    h.tests()
        .test_slot(auth(
            pb::TestSlotRequest {
                trigger: POST_LOGIN.into(),
                event_json: login_event(email),
                candidate,
                use_candidate: true,
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// Each binding that ran: its id, Action and outcome, in order.
fn ran(answer: &ExecuteResponse) -> Vec<(String, String, Outcome)> {
    answer
        .bindings
        .iter()
        .map(|b| (b.binding_id.clone(), b.action_slug.clone(), b.outcome()))
        .collect()
}

pub async fn a_candidate_slot_runs_an_unsaved_change_and_stores_nothing(h: &Harness) {
    let token = h.tenant("acme").await;
    let saved = allowlist_and_tagger(h, &token).await;
    let audited_before = audit_events(h, &token, "").await.len();

    // A binding added at the end: the outsider is denied by the saved one, and
    // the added one never runs.
    let added = test_candidate(
        h,
        &token,
        "eve@outside.test",
        vec![
            candidate(&saved, "allowlist", json!({ "domain": "acme.test" })),
            candidate("", "tagger", json!({})),
        ],
    )
    .await
    .expect("test with a binding added");
    assert_eq!(added.decision(), Decision::Deny);
    assert_eq!(added.deny_reason, "only acme.test");
    assert_eq!(
        ran(&added),
        [
            (saved.clone(), "allowlist".into(), Outcome::Denied),
            ("candidate-1".into(), "tagger".into(), Outcome::Skipped),
        ]
    );

    // Moved first, the added one runs and its claim is merged before the deny.
    let moved = test_candidate(
        h,
        &token,
        "eve@outside.test",
        vec![
            candidate("", "tagger", json!({})),
            candidate(&saved, "allowlist", json!({ "domain": "acme.test" })),
        ],
    )
    .await
    .expect("test with the order changed");
    assert_eq!(
        ran(&moved)
            .iter()
            .map(|(_, slug, outcome)| (slug.as_str(), *outcome))
            .collect::<Vec<_>>(),
        [("tagger", Outcome::Allowed), ("allowlist", Outcome::Denied)]
    );
    assert!(
        moved.bindings[0]
            .logs
            .iter()
            .any(|l| l.message == "tagging"),
        "{moved:?}"
    );

    // Reconfigured, the same outsider is let in.
    let reconfigured = test_candidate(
        h,
        &token,
        "eve@outside.test",
        vec![candidate(
            &saved,
            "allowlist",
            json!({ "domain": "outside.test" }),
        )],
    )
    .await
    .expect("test with the config changed");
    assert_eq!(reconfigured.decision(), Decision::Allow);

    // Emptied, nothing runs; without use_candidate the saved slot runs.
    let emptied = test_candidate(h, &token, "eve@outside.test", Vec::new())
        .await
        .expect("test with the slot emptied");
    assert!(emptied.bindings.is_empty() && emptied.decision() == Decision::Allow);
    let saved_run = h
        .tests()
        .test_slot(auth(
            pb::TestSlotRequest {
                trigger: POST_LOGIN.into(),
                event_json: login_event("eve@outside.test"),
                candidate: vec![candidate("", "tagger", json!({}))],
                use_candidate: false,
            },
            &token,
        ))
        .await
        .expect("test the saved slot")
        .into_inner();
    assert_eq!(ran(&saved_run).len(), 1);
    assert_eq!(saved_run.decision(), Decision::Deny);

    // Each candidate is checked as an attach would be, naming where it is wrong.
    create(h, &token, "early", &[super::LOGIN], "", tagger())
        .await
        .expect("create an Action for another slot");
    publish(h, &token, "early", "0.1.0")
        .await
        .expect("publish it");
    let tagger_ok = || candidate("", "tagger", json!({}));
    let mut too_many = Vec::new();
    too_many.resize_with(actions_proto::sizes::MAX_BINDINGS_PER_SLOT + 1, tagger_ok);
    for (bindings, code, words) in [
        (
            vec![tagger_ok(), candidate(&saved, "allowlist", json!({}))],
            Code::FailedPrecondition,
            "candidate[1]: action \"allowlist\": the config does not match",
        ),
        (
            vec![candidate("bnd_nope", "allowlist", json!({ "domain": "a" }))],
            Code::InvalidArgument,
            "candidate[0].binding_id \"bnd_nope\" is not a binding of login.post-login",
        ),
        (
            vec![
                candidate(&saved, "allowlist", json!({ "domain": "a" })),
                candidate(&saved, "allowlist", json!({ "domain": "b" })),
            ],
            Code::InvalidArgument,
            "appears twice",
        ),
        (
            vec![candidate("", "nope", json!({}))],
            Code::NotFound,
            "candidate[0]: action \"nope\"",
        ),
        (
            vec![candidate("", "Not_A_Slug", json!({}))],
            Code::InvalidArgument,
            "candidate[0].action_slug",
        ),
        (
            vec![candidate("", "early", json!({}))],
            Code::FailedPrecondition,
            "does not support trigger login.post-login",
        ),
        (
            vec![pb::CandidateBinding {
                major: Some(7),
                ..tagger_ok()
            }],
            Code::FailedPrecondition,
            "candidate[0]: action \"tagger\" has no published version of major 7",
        ),
        (
            vec![candidate("", "tagger", json!([1]))],
            Code::InvalidArgument,
            "candidate[0]: config_json",
        ),
        (too_many, Code::InvalidArgument, "at most 20"),
    ] {
        let refused = test_candidate(h, &token, "a@acme.test", bindings)
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), code, "{refused:?}");
        assert!(refused.message().contains(words), "{refused:?}");
    }

    // Nothing was stored: the slot and the audit trail are as they were
    // (bar the Action made for the refusal above).
    let slot = slot_bindings(h, &token, POST_LOGIN).await;
    assert_eq!(slot.len(), 1);
    assert_eq!(slot[0].id, saved);
    assert_eq!(
        serde_json::from_str::<Value>(&slot[0].config_json).expect("config"),
        json!({ "domain": "acme.test" })
    );
    let flow_events = audit_events(h, &token, "")
        .await
        .into_iter()
        .filter(|e| e.kind.starts_with("flow.binding"))
        .count();
    assert_eq!(flow_events, 1, "only the attach");
    assert_eq!(
        audit_events(h, &token, "").await.len(),
        audited_before + 3,
        "the early Action's creation, save and publish"
    );
}

async fn audit_of(h: &Harness, token: &str, kind: &str, action: &str) -> Vec<pb::AuditEvent> {
    h.audit()
        .list_audit_events(auth(
            pb::ListAuditEventsRequest {
                kind: kind.into(),
                action_slug: action.into(),
                page_size: 100,
                page_token: String::new(),
            },
            token,
        ))
        .await
        .expect("list audit events")
        .into_inner()
        .events
}

fn details(event: &pb::AuditEvent) -> Value {
    serde_json::from_str(&event.details_json).expect("details JSON")
}

pub async fn the_audit_of_an_action_shows_its_config_and_schema_changes(h: &Harness) {
    let token = h.tenant("acme").await;
    let saved = allowlist_and_tagger(h, &token).await;
    h.flows()
        .update_binding(auth(
            pb::UpdateBindingRequest {
                binding_id: saved.clone(),
                config_json: Some(json!({ "domain": "acme.org" }).to_string()),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("reconfigure");
    let wider = r#"{"type":"object","required":["domain"],"properties":{"domain":{"type":"string"},"note":{"type":"string"}}}"#;
    save(h, &token, "allowlist", "", wider, allowlist())
        .await
        .expect("save a version with a wider schema");

    let kinds: Vec<String> = audit_of(h, &token, "", "allowlist")
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "action.version_saved",
            "flow.binding_changed",
            "flow.binding_added",
            "flow.action_published",
            "action.version_saved",
            "action.created",
        ]
    );
    let tagger: Vec<String> = audit_of(h, &token, "", "tagger")
        .await
        .into_iter()
        .map(|e| e.subject)
        .collect();
    assert_eq!(tagger, ["tagger@0.1.0", "tagger@0.1.0", "tagger"]);

    let changed = &audit_of(h, &token, "flow.binding_changed", "allowlist").await[0];
    assert_eq!(
        details(changed)["config_before"],
        json!({ "domain": "acme.test" })
    );
    assert_eq!(details(changed)["config"], json!({ "domain": "acme.org" }));
    let saved_versions = audit_of(h, &token, "action.version_saved", "allowlist").await;
    let newest = details(&saved_versions[0]);
    assert_eq!(
        newest["config_schema_before"],
        serde_json::from_str::<Value>(DOMAIN_SCHEMA).expect("schema")
    );
    assert_eq!(
        newest["config_schema"]["properties"]["note"],
        json!({ "type": "string" })
    );
    assert!(
        details(&saved_versions[1])
            .get("config_schema_before")
            .is_none(),
        "the first version changed no schema"
    );
    assert_eq!(
        audit_of(h, &token, "flow.action_published", "allowlist")
            .await
            .len(),
        1
    );
    assert!(audit_of(h, &token, "", "nothing-here").await.is_empty());

    let refused = h
        .audit()
        .list_audit_events(auth(
            pb::ListAuditEventsRequest {
                action_slug: "a%".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect_err("not a slug");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().starts_with("action_slug"), "{refused:?}");
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

async fn stats(
    h: &Harness,
    token: &str,
    since_ms: u64,
    bucket_ms: u64,
) -> Result<pb::RunStats, tonic::Status> {
    h.audit()
        .get_run_stats(auth(
            pb::GetRunStatsRequest {
                since_ms,
                bucket_ms,
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

pub async fn run_stats_count_a_tenants_runs_per_minute_and_action(h: &Harness) {
    let token = h.tenant("acme").await;
    let other = h.tenant("globex").await;
    let saved = allowlist_and_tagger(h, &token).await;
    h.execute_when("acme", POST_LOGIN, &login_event("a@acme.test"), &[&saved])
        .await;
    h.execute("acme", POST_LOGIN, &login_event("eve@outside.test"))
        .await
        .expect("an outsider's sign-in");
    // A test run is no sign-in: left out.
    test_candidate(
        h,
        &token,
        "a@acme.test",
        vec![candidate("", "tagger", json!({}))],
    )
    .await
    .expect("a test run");
    let stored = runs_when(
        h,
        &token,
        pb::ListRunsRequest {
            include_tests: true,
            ..Default::default()
        },
        |runs| {
            runs.iter().any(|r| r.test)
                && runs
                    .iter()
                    .any(|r| !r.test && r.decision() == Decision::Deny)
                && runs
                    .iter()
                    .any(|r| !r.test && r.decision() == Decision::Allow && !r.bindings().is_empty())
        },
    )
    .await;
    // execute_when may have tried before the runner had the binding.
    let sign_ins = stored.iter().filter(|r| !r.test).count() as u64;
    let with_allowlist = stored
        .iter()
        .filter(|r| !r.test && r.bindings().iter().any(|b| b.action_slug == "allowlist"))
        .count() as u64;

    let hour = stats(h, &token, 0, 0).await.expect("the last hour");
    assert_eq!(hour.bucket_ms, 60_000);
    assert_eq!(hour.buckets.len(), 60);
    assert_eq!(hour.until_ms - hour.since_ms, 3_600_000);
    assert!(!hour.truncated);
    assert_eq!(hour.buckets.iter().map(|b| b.runs).sum::<u64>(), sign_ins);
    assert_eq!(hour.buckets.iter().map(|b| b.denies).sum::<u64>(), 1);
    assert_eq!(hour.buckets.iter().map(|b| b.errors).sum::<u64>(), 0);
    assert_eq!(hour.actions.len(), 1, "{:?}", hour.actions);
    let allowlist = &hour.actions[0];
    assert_eq!(allowlist.action_slug, "allowlist");
    assert_eq!((allowlist.runs, allowlist.denies), (with_allowlist, 1));
    assert!(
        allowlist.p50_us > 0 && allowlist.p99_us >= allowlist.p50_us,
        "{allowlist:?}"
    );

    let narrow = stats(h, &token, now_ms() - 120_000, 10_000)
        .await
        .expect("two minutes in 10 s buckets");
    // The window ends when the server answers, a little after it was asked.
    assert!((12..=13).contains(&narrow.buckets.len()), "{narrow:?}");
    assert_eq!(narrow.buckets.iter().map(|b| b.runs).sum::<u64>(), sign_ins);
    let globex = stats(h, &other, 0, 0).await.expect("another tenant");
    assert_eq!(globex.buckets.iter().map(|b| b.runs).sum::<u64>(), 0);
    assert!(globex.actions.is_empty());

    for (since, bucket, words) in [
        (now_ms() + 60_000, 0, "since_ms"),
        (now_ms() - 25 * 3_600_000, 0, "24 hours"),
        (0, 999, "bucket_ms 999"),
        (0, 1_000, "at most 1440"),
    ] {
        let refused = stats(h, &token, since, bucket).await.expect_err("refused");
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert!(refused.message().contains(words), "{refused:?}");
    }
}
