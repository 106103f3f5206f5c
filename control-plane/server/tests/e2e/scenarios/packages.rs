//! Packages: tar.gz uploads that create an Action or a new version, and
//! hostile archives (paths climbing out, links, devices, bad manifests, not
//! gzip, too large) refused without storing anything.

use super::{POST_LOGIN, hostile_tar_gz, tar_gz};
use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_test_support::auth;
use serde_json::json;
use tonic::Code;

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
        (
            "an unknown trigger in the manifest",
            tar_gz(&[
                (
                    "action.json",
                    br#"{"name":"x","slug":"x","triggers":["login.after-coffee"]}"#,
                ),
                ("src/index.ts", index),
            ]),
        ),
        (
            "a manifest version that is not semver",
            tar_gz(&[
                (
                    "action.json",
                    br#"{"name":"x","slug":"x","version":"one","triggers":["login.post-login"]}"#,
                ),
                ("src/index.ts", index),
            ]),
        ),
        (
            "a manifest slug that is not a slug",
            tar_gz(&[
                (
                    "action.json",
                    br#"{"name":"x","slug":"Not A Slug","triggers":["login.post-login"]}"#,
                ),
                ("src/index.ts", index),
            ]),
        ),
        (
            "a manifest config schema that is not a JSON Schema",
            tar_gz(&[
                (
                    "action.json",
                    br#"{"name":"x","slug":"x","triggers":["login.post-login"],"config_schema":{"type":12}}"#,
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
