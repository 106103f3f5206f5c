//! Database faults (PostgreSQL only): the database going away under a
//! running control plane, and coming back.

use super::{POST_LOGIN, attach, claims, create, event, pattern, publish, save};
use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_proto::runner::v1::Decision;
use actions_test_support::auth;
use serde_json::json;
use std::time::{Duration, Instant};
use tonic::Code;

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
