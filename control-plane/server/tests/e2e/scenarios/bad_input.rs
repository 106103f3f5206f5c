//! Bad input of every kind, each refused with its own status code, leaving
//! every row of every table exactly as it was.

use super::{
    LOGIN, POST_LOGIN, attach, create, hostile_tar_gz, pattern, publish, save, source, tar_gz,
};
use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_test_support::auth;
use serde_json::json;
use tonic::Code;

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
