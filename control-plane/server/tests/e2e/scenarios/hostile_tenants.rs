//! One tenant attacks as issue 13 reported, through the real service: a
//! source that crashed the compiler, configs that made the runners' flows
//! too large to send, a schema that refers to itself, a slot filled past
//! its cap. Each is refused or absorbed, and another tenant's sign-ins keep
//! answering and its changes keep reaching the runner.

use super::{POST_LOGIN, attach, claims, create, login_event, publish, source};
use crate::harness::{Harness, SYNC_TOKEN};
use actions_proto::controlplane::v1::{
    self as pb, flows_update::Update, runner_sync_client::RunnerSyncClient,
};
use actions_proto::details::source_problem;
use actions_proto::sizes::{
    MAX_BINDINGS_PER_SLOT, MAX_CONFIG_JSON_BYTES, MAX_RESPONSE_BYTES, SNAPSHOT_PART_BYTES,
};
use actions_test_support::auth;
use serde_json::json;
use tonic::Code;

const CLAIM: &str = "https://victim/ok";

pub async fn one_tenants_attacks_never_reach_another_tenants_sign_ins(h: &Harness) {
    let victim = h.tenant("victim").await;
    let attacker = h.tenant("attacker").await;
    create(
        h,
        &victim,
        "stamp",
        &[POST_LOGIN],
        "",
        source(&format!(
            "export async function execute(event, api) {{ api.accessToken.setCustomClaim('{CLAIM}', true); }}"
        )),
    )
    .await
    .expect("the victim creates an Action");
    publish(h, &victim, "stamp", "0.1.0")
        .await
        .expect("publish");
    let stamp = attach(h, &victim, POST_LOGIN, "stamp", json!({}), false)
        .await
        .expect("attach")
        .id;
    let signs_in = || async {
        let answer = h
            .execute("victim", POST_LOGIN, &login_event("v@victim.test"))
            .await
            .expect("the victim's sign-in is answered");
        assert_eq!(claims(&answer)[CLAIM], true, "{answer:?}");
    };
    h.execute_when(
        "victim",
        POST_LOGIN,
        &login_event("v@victim.test"),
        &[&stamp],
    )
    .await;

    // Attack 1: 200 KB of nested brackets, refused at the place it is too deep.
    let refused = create(
        h,
        &attacker,
        "brackets",
        &[POST_LOGIN],
        "",
        source(&"[".repeat(200_000)),
    )
    .await
    .expect_err("the nesting is refused");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let problem = source_problem(&refused).expect("the refusal says where");
    assert_eq!((problem.file.as_str(), problem.line), ("src/index.ts", 1));
    signs_in().await;

    // A schema that refers to itself is refused before anything is stored.
    let recursive = create(
        h,
        &attacker,
        "recursive",
        &[POST_LOGIN],
        r##"{"type":"object","properties":{"again":{"$ref":"#"}}}"##,
        source("export async function execute() {}"),
    )
    .await
    .expect_err("a recursive schema is refused");
    assert_eq!(recursive.code(), Code::InvalidArgument, "{recursive:?}");

    // Attack 2: multi-megabyte configs under a schema that takes any object.
    create(
        h,
        &attacker,
        "open",
        &[POST_LOGIN],
        r#"{"type":"object"}"#,
        source("export async function execute() {}"),
    )
    .await
    .expect("create");
    publish(h, &attacker, "open", "0.1.0")
        .await
        .expect("publish");
    let huge = json!({ "blob": "x".repeat(3 * 1024 * 1024) });
    let refused = attach(h, &attacker, POST_LOGIN, "open", huge, false)
        .await
        .expect_err("a config past its cap is refused");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    // The most it may store: a full slot of configs just under the cap.
    let large = json!({ "blob": "x".repeat(MAX_CONFIG_JSON_BYTES - 64) });
    for _ in 0..MAX_BINDINGS_PER_SLOT {
        attach(h, &attacker, POST_LOGIN, "open", large.clone(), false)
            .await
            .expect("attaches up to the cap");
    }
    let full = attach(h, &attacker, POST_LOGIN, "open", json!({}), false)
        .await
        .expect_err("a slot past its cap is refused");
    assert_eq!(full.code(), Code::FailedPrecondition, "{full:?}");
    signs_in().await;

    // The attacker's flows, however large, list for a client that decodes
    // what the control plane may send (the CLI's limit).
    let mut flows = h.flows().max_decoding_message_size(MAX_RESPONSE_BYTES);
    let listed = flows
        .list_flows(auth(pb::ListFlowsRequest {}, &attacker))
        .await
        .expect("the full slot lists")
        .into_inner();
    let bound: usize = listed
        .flows
        .iter()
        .flat_map(|f| &f.slots)
        .map(|s| s.bindings.len())
        .sum();
    assert_eq!(bound, MAX_BINDINGS_PER_SLOT);

    // The victim's change still reaches the runner: detached, it stops running.
    h.flows()
        .detach_binding(auth(
            pb::DetachBindingRequest {
                binding_id: stamp.clone(),
            },
            &victim,
        ))
        .await
        .expect("detach");
    h.execute_when("victim", POST_LOGIN, &login_event("v@victim.test"), &[])
        .await;

    // A runner starting from scratch gets every tenant, the attacker's
    // large flows in a part of their own.
    let mut sync =
        RunnerSyncClient::new(h.cp.clone()).max_decoding_message_size(MAX_RESPONSE_BYTES);
    let mut updates = sync
        .watch_flows(auth(
            pb::WatchFlowsRequest {
                runner_id: "fresh".into(),
                after_revision: 0,
                plugin_id: String::new(),
            },
            SYNC_TOKEN,
        ))
        .await
        .expect("watch")
        .into_inner();
    let mut parts = Vec::new();
    while let Some(update) = updates.message().await.expect("an update") {
        let Some(Update::SnapshotPart(part)) = update.update else {
            panic!("a snapshot comes first, in parts: {update:?}");
        };
        let last = part.last;
        parts.push(part);
        if last {
            break;
        }
    }
    assert!(parts[0].first, "the first part says so");
    let part_of = |tenant: &str| {
        parts
            .iter()
            .position(|p| p.tenants.iter().any(|t| t.tenant == tenant))
            .unwrap_or_else(|| panic!("{tenant} is in the snapshot"))
    };
    let attackers = part_of("attacker");
    assert_ne!(attackers, part_of("victim"), "the large tenant goes alone");
    assert_eq!(parts[attackers].tenants.len(), 1);
    for (index, part) in parts.iter().enumerate() {
        if index != attackers {
            assert!(
                prost::Message::encoded_len(part) <= SNAPSHOT_PART_BYTES,
                "parts other than a large tenant's stay within the part size"
            );
        }
    }
}
