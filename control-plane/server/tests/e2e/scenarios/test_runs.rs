//! Test runs: a version or a whole slot run in the runner's sandbox with a
//! given event and config, hostile Actions included, changing no flow and
//! recorded as tests.

use super::{
    LOGIN, POST_LOGIN, attach, claims, create, login_event, publish, runs, runs_when,
    slot_bindings, source,
};
use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_proto::runner::v1::{Decision, Outcome};
use actions_test_support::auth;
use serde_json::{Value, json};
use tonic::Code;

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
        ..Default::default()
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
                ..Default::default()
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
            outcome: Outcome::OutOfFuel as i32,
            ..Default::default()
        },
    )
    .await;
    let deadline_runs = runs(
        h,
        &token,
        pb::ListRunsRequest {
            include_tests: true,
            outcome: Outcome::DeadlineExceeded as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(fuel_runs.len() + deadline_runs.len(), 1);
}
