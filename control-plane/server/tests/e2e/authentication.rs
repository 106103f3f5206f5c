//! Authentication beyond "which tenant": a revoked token's open streams end
//! at once, page tokens tell a tenant nothing of other tenants and page
//! only its own lists, and a control plane never serves without its tokens
//! unless told to, on loopback.

use crate::harness::{Harness, OPERATOR, cache_dir};
use crate::scenarios::create_action;
use actions_control_plane::auth::Secrets;
use actions_control_plane::store::Store;
use actions_control_plane::{ControlPlane, Error, api};
use actions_proto::bearer::ServingWithoutTokens;
use actions_proto::controlplane::v1 as pb;
use actions_test_support::auth;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::Code;

pub async fn revoking_a_token_ends_its_open_tail_at_once(h: &Harness) {
    let token = h.tenant("revoked").await;
    let mut tail = h
        .audit()
        .tail(auth(pb::TailRequest::default(), &token))
        .await
        .expect("Tail")
        .into_inner();
    create_action(h, &token, "before-revocation").await;
    let first = tokio::time::timeout(Duration::from_secs(10), tail.message())
        .await
        .expect("the tail answers")
        .expect("an event before the revocation");
    assert!(first.is_some());

    let mut tenants = h.tenants();
    let listed = tenants
        .list_tokens(auth(
            pb::ListTokensRequest {
                tenant: "revoked".into(),
            },
            OPERATOR,
        ))
        .await
        .expect("list tokens")
        .into_inner()
        .tokens;
    let revoked_at = Instant::now();
    tenants
        .revoke_token(auth(
            pb::RevokeTokenRequest {
                id: listed[0].id.clone(),
            },
            OPERATOR,
        ))
        .await
        .expect("revoke");
    // The revocation's own audit event may come first; then the stream ends.
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(5), tail.message())
            .await
            .expect("the tail ends promptly after the revocation")
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the tail ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(ended.code(), Code::Unauthenticated, "{ended:?}");
    eprintln!(
        "the tail ended {:?} after RevokeToken was sent",
        revoked_at.elapsed()
    );
}

/// A runner's own token opens RunnerSync like the shared sync token, and
/// revoking it ends its open `WatchFlows` at once and refuses it from then
/// on, while the shared token and other runners' tokens work on.
pub async fn a_revoked_runner_token_ends_its_flows_stream_at_once(h: &Harness) {
    use actions_proto::controlplane::v1::runner_sync_client::RunnerSyncClient;
    let mut tenants = h.tenants();
    let create = |name: &str| pb::CreateRunnerTokenRequest { name: name.into() };
    let tenant = h.tenant("runner-tokens").await;
    let refused = tenants
        .create_runner_token(auth(create("sneaky"), &tenant))
        .await
        .expect_err("a tenant cannot make runner tokens");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let blank = tenants
        .create_runner_token(auth(create("  "), OPERATOR))
        .await
        .expect_err("a runner token says what it is for");
    assert_eq!(blank.code(), Code::InvalidArgument);
    let issued = tenants
        .create_runner_token(auth(create("eu-west"), OPERATOR))
        .await
        .expect("the operator makes a runner token")
        .into_inner();
    let other = tenants
        .create_runner_token(auth(create("us-east"), OPERATOR))
        .await
        .expect("and another")
        .into_inner();
    let info = issued.token.expect("token info");
    assert!(
        info.id.starts_with("rtk_") && info.tenant.is_empty(),
        "{info:?}"
    );

    let watch = |secret: String| {
        let mut sync = RunnerSyncClient::new(h.cp.clone())
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
        async move {
            sync.watch_flows(auth(
                pb::WatchFlowsRequest {
                    runner_id: "token-test".into(),
                    after_revision: 0,
                    plugin_id: String::new(),
                },
                &secret,
            ))
            .await
            .map(tonic::Response::into_inner)
        }
    };
    let mut stream = watch(issued.secret.clone())
        .await
        .expect("the token opens WatchFlows");
    let first = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the snapshot comes")
        .expect("a snapshot part");
    assert!(first.is_some());
    let mut others = watch(other.secret.clone())
        .await
        .expect("the other token too");
    let snapshot = tokio::time::timeout(Duration::from_secs(10), others.message())
        .await
        .expect("its snapshot comes");
    assert!(matches!(snapshot, Ok(Some(_))), "{snapshot:?}");

    let revoked_at = Instant::now();
    tenants
        .revoke_token(auth(
            pb::RevokeTokenRequest {
                id: info.id.clone(),
            },
            OPERATOR,
        ))
        .await
        .expect("the operator revokes it");
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("the stream ends promptly after the revocation")
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(ended.code(), Code::Unauthenticated, "{ended:?}");
    eprintln!(
        "the flows stream ended {:?} after RevokeToken was sent",
        revoked_at.elapsed()
    );
    let again = watch(issued.secret.clone())
        .await
        .expect_err("a revoked token opens nothing");
    assert_eq!(again.code(), Code::Unauthenticated);

    // The other runner's stream stands past the store's recheck.
    match tokio::time::timeout(Duration::from_millis(1_500), others.message()).await {
        Err(_elapsed) => {}
        Ok(other) => panic!("the other runner's stream ended or changed: {other:?}"),
    }
    let listed = tenants
        .list_runner_tokens(auth(pb::ListRunnerTokensRequest {}, OPERATOR))
        .await
        .expect("list")
        .into_inner()
        .tokens;
    // Made in the same millisecond, they may list in either order.
    let mut states: Vec<(String, bool)> = listed
        .iter()
        .map(|t| (t.name.clone(), t.revoked_at_ms > 0))
        .collect();
    states.sort();
    assert_eq!(
        states,
        [("eu-west".to_owned(), true), ("us-east".to_owned(), false)]
    );
}

pub async fn page_tokens_are_opaque_and_bound_to_their_tenant(h: &Harness) {
    let alpha = h.tenant("pages-alpha").await;
    let beta = h.tenant("pages-beta").await;
    for slug in ["a-one", "a-two", "a-three"] {
        create_action(h, &alpha, slug).await;
    }
    create_action(h, &beta, "b-one").await;
    create_action(h, &beta, "b-two").await;
    let first_page = |token: &str| {
        let token = token.to_owned();
        let mut audit = h.audit();
        async move {
            audit
                .list_audit_events(auth(
                    pb::ListAuditEventsRequest {
                        kind: "action.created".into(),
                        page_size: 1,
                        page_token: String::new(),
                        ..Default::default()
                    },
                    &token,
                ))
                .await
                .expect("first page")
                .into_inner()
        }
    };
    let alpha_page = first_page(&alpha).await;
    let beta_page = first_page(&beta).await;
    let alpha_next = alpha_page.next_page_token.clone();
    assert!(!alpha_next.is_empty() && !beta_page.next_page_token.is_empty());
    assert!(
        alpha_next.parse::<i64>().is_err(),
        "a page token is not a position in the table all tenants share: {alpha_next}"
    );

    // Another tenant's activity does not change a tenant's tokens.
    create_action(h, &beta, "b-three").await;
    assert_eq!(first_page(&alpha).await.next_page_token, alpha_next);

    // Nor the numbers of its events: each tenant counts 1, 2, 3, … with no
    // gap where the other's events came in between.
    create_action(h, &alpha, "a-four").await;
    for token in [&alpha, &beta] {
        let numbers: Vec<u64> = h
            .audit()
            .list_audit_events(auth(
                pb::ListAuditEventsRequest {
                    page_size: 500,
                    ..Default::default()
                },
                token,
            ))
            .await
            .expect("the whole trail")
            .into_inner()
            .events
            .iter()
            .map(|e| e.seq)
            .collect();
        let expected: Vec<u64> = (1..=numbers.len() as u64).rev().collect();
        assert_eq!(numbers, expected, "a tenant's own numbering, newest first");
    }

    // A token pages only the list and the tenant it was given for.
    let listed = |token: &str, page_token: &str| {
        let (token, page_token) = (token.to_owned(), page_token.to_owned());
        let mut audit = h.audit();
        async move {
            audit
                .list_audit_events(auth(
                    pb::ListAuditEventsRequest {
                        kind: "action.created".into(),
                        page_size: 1,
                        page_token,
                        ..Default::default()
                    },
                    &token,
                ))
                .await
        }
    };
    let second = listed(&alpha, &alpha_next)
        .await
        .expect("alpha's next page");
    assert_eq!(second.into_inner().events[0].subject, "a-two");
    let refused = listed(&alpha, &beta_page.next_page_token)
        .await
        .expect_err("beta's token in alpha's list");
    assert_eq!(refused.code(), Code::InvalidArgument);
    let seq = alpha_page.events[0].seq;
    for raw in [seq.to_string(), (seq - 1).to_string()] {
        let refused = listed(&alpha, &raw)
            .await
            .expect_err("a raw sequence number");
        assert_eq!(refused.code(), Code::InvalidArgument);
    }
    let runs = h
        .audit()
        .list_runs(auth(
            pb::ListRunsRequest {
                page_token: alpha_next.clone(),
                ..pb::ListRunsRequest::default()
            },
            &alpha,
        ))
        .await
        .expect_err("an audit token in the runs list");
    assert_eq!(runs.code(), Code::InvalidArgument);
}

/// A control plane whose operator or sync token is empty does not serve,
/// unless told to (`insecure_no_auth`), and being told to is refused
/// anywhere but loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_plane_never_serves_without_its_tokens_unless_told_on_loopback() {
    let data = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", data.path().join("cp.db").display());
    let serve = |secrets: Secrets, address: &'static str| {
        let url = url.clone();
        async move {
            let store = Store::connect(&url).await.expect("store");
            let cp = ControlPlane::new(store, secrets, Some(cache_dir!()), None)
                .await
                .expect("control plane");
            let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
            let served = tokio::time::timeout(
                Duration::from_secs(2),
                api::serve(Arc::new(cp), listener, std::future::pending()),
            )
            .await;
            match served {
                Ok(result) => result,
                Err(_) => Ok(()), // still serving: it started
            }
        }
    };
    let secrets = |operator: &str, sync: &str, insecure_no_auth| Secrets {
        operator_token: operator.into(),
        sync_token: sync.into(),
        insecure_no_auth,
    };
    match serve(secrets("op", "", false), "127.0.0.1:0").await {
        Err(Error::WithoutTokens(ServingWithoutTokens::MissingTokens { missing })) => {
            assert_eq!(missing, ["sync_token"]);
        }
        other => panic!("served without a sync token: {other:?}"),
    }
    match serve(secrets("", "", false), "127.0.0.1:0").await {
        Err(Error::WithoutTokens(ServingWithoutTokens::MissingTokens { missing })) => {
            assert_eq!(missing, ["operator_token", "sync_token"]);
        }
        other => panic!("served without tokens: {other:?}"),
    }
    assert!(matches!(
        serve(secrets("", "", true), "0.0.0.0:0").await,
        Err(Error::WithoutTokens(
            ServingWithoutTokens::NotLoopback { .. }
        ))
    ));
    assert!(serve(secrets("", "", true), "127.0.0.1:0").await.is_ok());
    assert!(
        serve(secrets("op", "sync", false), "0.0.0.0:0")
            .await
            .is_ok()
    );
}
