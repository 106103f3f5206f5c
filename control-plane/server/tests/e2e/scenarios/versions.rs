//! Versions: compiled before they are stored, immutable, numbered only
//! forward, listed by page, their sources kept, and deleted with their
//! Action while the audit keeps their history.

use super::{LOGIN, audit_events, create, save, source};
use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_test_support::auth;
use tonic::Code;

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
