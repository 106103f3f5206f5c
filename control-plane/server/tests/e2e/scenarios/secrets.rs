//! Secrets: declared by a version, set write-only per Action, sealed at
//! rest, sent only to runners, redacted from everything a run puts out,
//! needed to publish, and resealed by a key rotation.

use super::{POST_LOGIN, attach, audit_events, login_event, publish, runs_when, source};
use crate::harness::{Harness, NEXT_SECRETS_KEY, SECRETS_KEY};
use actions_control_plane::auth::Secrets as Tokens;
use actions_control_plane::sealing::SealingKeys;
use actions_control_plane::store::Store;
use actions_control_plane::{ControlPlane, Error, Resealed, reseal_secrets};
use actions_proto::controlplane::v1 as pb;
use actions_proto::details::{SECRET_NOT_SET, precondition_violations};
use actions_proto::runner::v1::{Decision, ExecuteResponse};
use actions_runner::execution::response::REDACTED;
use actions_test_support::{auth, cache_dir};
use prost::Message as _;
use serde_json::Value;
use sqlx::Connection as _;
use tonic::Code;

/// The value the Action must see and nobody else may: long enough to be
/// redacted, and found by a plain byte search wherever it leaks.
const API_KEY: &str = "sk_live_7f3a9c1e5b2d8f4a";
const HOOK: &str = "whsec_q9w8e7r6t5y4";

/// Reads its secrets and tries every way out: a log line, a claim, a deny
/// reason, an error. The reversed key and its length show it saw the exact
/// value (redaction is of the value's own text).
const SOURCE: &str = r#"export async function execute(event, api) {
  const key = event.secrets.API_KEY;
  console.log('calling the CRM with', key, 'and', event.secrets.HOOK);
  api.accessToken.setCustomClaim('https://x/key', key);
  api.accessToken.setCustomClaim('https://x/echo', { nested: [key + '!'] });
  api.accessToken.setCustomClaim('https://x/reversed', key.split('').reverse().join(''));
  api.accessToken.setCustomClaim('https://x/length', key.length);
  if (event.user.email.startsWith('deny')) api.access.deny('no entry for ' + key);
  if (event.user.email.startsWith('throw')) throw new Error('the CRM refused ' + key);
}
"#;

fn reversed(text: &str) -> String {
    text.chars().rev().collect()
}

fn claims(response: &ExecuteResponse) -> Value {
    serde_json::from_str(&response.access_token_claims_json).expect("claims JSON")
}

fn declared(names: &[&str]) -> Vec<pb::SecretDeclaration> {
    names
        .iter()
        .map(|name| pb::SecretDeclaration {
            name: (*name).into(),
            description: format!("the {name}"),
        })
        .collect()
}

/// Whether `bytes` hold `value` anywhere.
fn holds(bytes: &[u8], value: &str) -> bool {
    bytes
        .windows(value.len())
        .any(|window| window == value.as_bytes())
}

/// A control plane beside the served one, on the same database: another
/// replica, started with `keys`.
async fn replica(h: &Harness, keys: Option<SealingKeys>) -> Result<ControlPlane, Error> {
    let store = Store::connect(h.database_url()).await?;
    ControlPlane::new(store, Tokens::default(), Some(cache_dir!()), None)
        .await?
        .open_secrets(keys)
        .await
}

/// The `action_secrets` rows as stored: name, key id and ciphertext.
async fn raw_rows(h: &Harness) -> Vec<(String, String, Vec<u8>)> {
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(h.database_url())
        .await
        .expect("connect");
    sqlx::query_as("SELECT name, key_id, ciphertext FROM action_secrets ORDER BY name")
        .fetch_all(&mut db)
        .await
        .expect("read the rows")
}

pub async fn secrets_are_write_only_sealed_redacted_and_needed_to_publish(h: &Harness) {
    let token = h.tenant("acme").await;
    let other = h.tenant("other").await;
    let created = h
        .actions()
        .create_action(auth(
            pb::CreateActionRequest {
                slug: "crm".into(),
                name: "CRM sync".into(),
                triggers: vec![POST_LOGIN.into()],
                source: Some(source(SOURCE)),
                secrets: declared(&["API_KEY", "HOOK"]),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("create")
        .into_inner();
    let version = created.version.expect("version");
    assert_eq!(
        version.secrets.iter().map(|d| &d.name).collect::<Vec<_>>(),
        ["API_KEY", "HOOK"]
    );

    // Bad declarations are refused, naming the entry; nothing is stored.
    let bad = h
        .actions()
        .save_version(auth(
            pb::SaveVersionRequest {
                slug: "crm".into(),
                source: Some(source(SOURCE)),
                secrets: Some(pb::SecretDeclarations {
                    items: declared(&["API_KEY", "not-a-name"]),
                }),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect_err("a bad secret name");
    assert_eq!(bad.code(), Code::InvalidArgument);

    // Publishing with no value for a declared secret is refused, naming each.
    let refused = publish(h, &token, "crm", &version.version)
        .await
        .expect_err("no values yet");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let missing: Vec<(String, String)> = precondition_violations(&refused)
        .into_iter()
        .map(|v| (v.r#type, v.subject))
        .collect();
    assert_eq!(
        missing,
        [
            (SECRET_NOT_SET.to_owned(), "API_KEY".to_owned()),
            (SECRET_NOT_SET.to_owned(), "HOOK".to_owned())
        ]
    );

    let set = |name: &str, value: &str, token: &str| {
        let request = auth(
            pb::SetSecretRequest {
                action_slug: "crm".into(),
                name: name.into(),
                value: value.into(),
            },
            token,
        );
        let mut client = h.secrets();
        async move {
            client
                .set_secret(request)
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let info = set("API_KEY", API_KEY, &token).await.expect("set API_KEY");
    assert!(info.set && info.declared);
    assert_eq!(info.set_by, "acme-dev");
    assert!(!holds(&info.encode_to_vec(), API_KEY));
    // Refusals: bad names, empty and oversized values, another tenant's
    // Action, an unknown Action.
    for (name, value, code) in [
        ("1BAD", "x".repeat(8), Code::InvalidArgument),
        ("EMPTY", String::new(), Code::InvalidArgument),
        // Too short to be redacted from run output.
        ("SHORT", "abc12".into(), Code::InvalidArgument),
        ("BIG", "x".repeat(4097), Code::InvalidArgument),
    ] {
        let error = set(name, &value, &token).await.expect_err(name);
        assert_eq!(error.code(), code, "{name}: {error:?}");
    }
    let stranger = set("API_KEY", "stolen-value-123", &other)
        .await
        .expect_err("another tenant's Action");
    assert_eq!(stranger.code(), Code::NotFound);
    let still = publish(h, &token, "crm", &version.version)
        .await
        .expect_err("HOOK still has no value");
    assert_eq!(
        precondition_violations(&still)
            .into_iter()
            .map(|v| v.subject)
            .collect::<Vec<_>>(),
        ["HOOK"]
    );
    set("HOOK", HOOK, &token).await.expect("set HOOK");
    publish(h, &token, "crm", &version.version)
        .await
        .expect("every secret has a value");
    let binding = attach(h, &token, POST_LOGIN, "crm", serde_json::json!({}), false)
        .await
        .expect("attach");

    // A sign-in: the Action saw the exact value; nothing it put out shows it.
    let allowed = h
        .execute_when(
            "acme",
            POST_LOGIN,
            &login_event("a@acme.test"),
            &[&binding.id],
        )
        .await;
    assert_eq!(allowed.decision(), Decision::Allow);
    let seen = claims(&allowed);
    assert_eq!(seen["https://x/reversed"], reversed(API_KEY).as_str());
    assert_eq!(seen["https://x/length"], API_KEY.len());
    assert_eq!(seen["https://x/key"], REDACTED);
    assert_eq!(
        seen["https://x/echo"]["nested"][0],
        format!("{REDACTED}!").as_str()
    );
    let logged = &allowed.bindings[0].logs[0].message;
    assert!(logged.contains(REDACTED) && !logged.contains(API_KEY) && !logged.contains(HOOK));
    let denied = h
        .execute("acme", POST_LOGIN, &login_event("deny@acme.test"))
        .await
        .expect("answer");
    assert_eq!(denied.decision(), Decision::Deny);
    assert_eq!(denied.deny_reason, format!("no entry for {REDACTED}"));
    let thrown = h
        .execute("acme", POST_LOGIN, &login_event("throw@acme.test"))
        .await
        .expect("answer");
    assert!(thrown.bindings[0].error.contains(REDACTED));
    for answer in [&allowed, &denied, &thrown] {
        let bytes = answer.encode_to_vec();
        assert!(
            !holds(&bytes, API_KEY) && !holds(&bytes, HOOK),
            "{answer:?}"
        );
    }

    // The Test tab: test values over the stored ones, redacted alike.
    let tested = h
        .tests()
        .test_version(auth(
            pb::TestVersionRequest {
                slug: "crm".into(),
                trigger: POST_LOGIN.into(),
                event_json: login_event("t@acme.test"),
                secrets: [("API_KEY".to_owned(), "test-key-0123".to_owned())].into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("test run")
        .into_inner();
    assert_eq!(
        claims(&tested)["https://x/reversed"],
        reversed("test-key-0123").as_str()
    );
    assert!(!holds(&tested.encode_to_vec(), "test-key-0123"));
    assert!(!holds(&tested.encode_to_vec(), HOOK));

    // No answer of the management API carries a value: every read call.
    let records = runs_when(
        h,
        &token,
        pb::ListRunsRequest {
            include_tests: true,
            ..Default::default()
        },
        |runs| runs.len() >= 4,
    )
    .await;
    let mut answers: Vec<Vec<u8>> = Vec::new();
    for record in &records {
        let run = h
            .audit()
            .get_run(auth(
                pb::GetRunRequest {
                    run_id: record.response.as_ref().expect("response").run_id.clone(),
                },
                &token,
            ))
            .await
            .expect("get run")
            .into_inner();
        answers.push(run.encode_to_vec());
        answers.push(record.encode_to_vec());
    }
    let actions = h.actions();
    answers.push(
        actions
            .clone()
            .get_action(auth(pb::GetActionRequest { slug: "crm".into() }, &token))
            .await
            .expect("get")
            .into_inner()
            .encode_to_vec(),
    );
    answers.push(
        actions
            .clone()
            .list_actions(auth(pb::ListActionsRequest::default(), &token))
            .await
            .expect("list")
            .into_inner()
            .encode_to_vec(),
    );
    answers.push(
        actions
            .clone()
            .list_versions(auth(
                pb::ListVersionsRequest {
                    slug: "crm".into(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .expect("versions")
            .into_inner()
            .encode_to_vec(),
    );
    answers.push(
        actions
            .clone()
            .get_version_source(auth(
                pb::GetVersionSourceRequest {
                    slug: "crm".into(),
                    version: version.version.clone(),
                },
                &token,
            ))
            .await
            .expect("source")
            .into_inner()
            .encode_to_vec(),
    );
    let listed = h
        .secrets()
        .list_secrets(auth(
            pb::ListSecretsRequest {
                action_slug: "crm".into(),
            },
            &token,
        ))
        .await
        .expect("list secrets")
        .into_inner();
    assert_eq!(
        listed
            .secrets
            .iter()
            .map(|s| (s.name.as_str(), s.declared, s.set, s.description.as_str()))
            .collect::<Vec<_>>(),
        [
            ("API_KEY", true, true, "the API_KEY"),
            ("HOOK", true, true, "the HOOK")
        ]
    );
    answers.push(listed.encode_to_vec());
    answers.push(
        h.flows()
            .list_flows(auth(pb::ListFlowsRequest {}, &token))
            .await
            .expect("flows")
            .into_inner()
            .encode_to_vec(),
    );
    let audit = h
        .audit()
        .list_audit_events(auth(
            pb::ListAuditEventsRequest {
                page_size: 500,
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("audit")
        .into_inner();
    answers.push(audit.encode_to_vec());
    answers.push(
        h.audit()
            .get_run_stats(auth(pb::GetRunStatsRequest::default(), &token))
            .await
            .expect("stats")
            .into_inner()
            .encode_to_vec(),
    );
    for (index, bytes) in answers.iter().enumerate() {
        for value in [API_KEY, HOOK, "test-key-0123"] {
            assert!(!holds(bytes, value), "answer {index} holds a secret value");
        }
    }
    // The changes are audited by name.
    let set_events = audit_events(h, &token, "secret.set").await;
    let names: Vec<String> = set_events
        .iter()
        .map(|e| {
            let details: Value = serde_json::from_str(&e.details_json).expect("details");
            details["name"].as_str().expect("name").to_owned()
        })
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"API_KEY".to_owned()) && names.contains(&"HOOK".to_owned()));

    // At rest: sealed (the raw rows and every table's dump hold no value).
    let rows = raw_rows(h).await;
    let current = SealingKeys::new(&SECRETS_KEY, &[]);
    assert_eq!(rows.len(), 2);
    for (name, key_id, ciphertext) in &rows {
        assert_eq!(key_id, current.current_id(), "{name}");
        assert!(!holds(ciphertext, API_KEY) && !holds(ciphertext, HOOK));
    }
    let dump = h.store_dump().await.join("\n");
    for value in [API_KEY, HOOK, "test-key-0123"] {
        assert!(!dump.contains(value));
        let as_bytes = format!("{:?}", value.as_bytes());
        assert!(!dump.contains(as_bytes.trim_matches(['[', ']'])));
    }

    // Removing a secret the live version reads is refused; another tenant
    // cannot list them.
    let removing = h
        .secrets()
        .remove_secret(auth(
            pb::RemoveSecretRequest {
                action_slug: "crm".into(),
                name: "HOOK".into(),
            },
            &token,
        ))
        .await
        .expect_err("the live version reads HOOK");
    assert_eq!(removing.code(), Code::FailedPrecondition);
    let peeking = h
        .secrets()
        .list_secrets(auth(
            pb::ListSecretsRequest {
                action_slug: "crm".into(),
            },
            &other,
        ))
        .await
        .expect_err("another tenant");
    assert_eq!(peeking.code(), Code::NotFound);

    // A new value reaches the runner.
    set("API_KEY", "sk_live_rotated_value_99", &token)
        .await
        .expect("replace");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let answer = h
            .execute("acme", POST_LOGIN, &login_event("a@acme.test"))
            .await
            .expect("answer");
        if claims(&answer)["https://x/reversed"] == reversed("sk_live_rotated_value_99").as_str() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new value never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }

    // Key rotation. The served control plane already opens with the next
    // key (step 1); a replica seals with it (step 2); the operator's
    // reseal moves every data key under it (step 3), once and idempotently;
    // a replica restarted with step 1's settings does not undo it; then the
    // next key alone opens everything (step 4).
    let before_rotation = raw_rows(h).await;
    let step_two = replica(h, Some(SealingKeys::new(&NEXT_SECRETS_KEY, &[SECRETS_KEY])))
        .await
        .expect("a replica with the next key starts");
    assert_eq!(
        raw_rows(h).await,
        before_rotation,
        "starting reseals nothing by itself"
    );
    let store = Store::connect(h.database_url()).await.expect("store");
    let keys = SealingKeys::new(&NEXT_SECRETS_KEY, &[SECRETS_KEY]);
    assert_eq!(
        reseal_secrets(&store, &keys).await.expect("reseal"),
        Resealed {
            resealed: 2,
            failed: 0
        }
    );
    assert_eq!(
        reseal_secrets(&store, &keys).await.expect("again"),
        Resealed::default()
    );
    drop(step_two);
    let next = SealingKeys::new(&NEXT_SECRETS_KEY, &[]);
    let after = raw_rows(h).await;
    assert_eq!(after.len(), 2);
    for ((name, key_id, ciphertext), (_, _, before)) in after.iter().zip(&before_rotation) {
        assert_eq!(key_id, next.current_id(), "{name} resealed");
        // Only the data key is resealed; the value is not touched.
        assert_eq!(ciphertext, before, "{name}");
    }
    let step_one = replica(h, Some(SealingKeys::new(&SECRETS_KEY, &[NEXT_SECRETS_KEY])))
        .await
        .expect("step 1's settings still start");
    assert_eq!(raw_rows(h).await, after, "nothing undoes the rotation");
    assert_eq!(
        step_one
            .action_secret_values("acme", "crm")
            .await
            .expect("the old settings open the resealed rows")
            .get("HOOK")
            .map(String::as_str),
        Some(HOOK)
    );
    let only_next = replica(h, Some(SealingKeys::new(&NEXT_SECRETS_KEY, &[])))
        .await
        .expect("the next key alone");
    let opened = only_next
        .action_secret_values("acme", "crm")
        .await
        .expect("values");
    assert_eq!(opened.get("HOOK").map(String::as_str), Some(HOOK));
    assert_eq!(
        opened.get("API_KEY").map(String::as_str),
        Some("sk_live_rotated_value_99")
    );
    // A wrong key, or none, refuses to start: the rows would not open, and
    // control planes of this database were given other keys.
    for keys in [Some(SealingKeys::new(&[0x33; 32], &[])), None] {
        let refused = replica(h, keys).await.err().expect("refused to start");
        assert!(matches!(refused, Error::Config(_)), "{refused:?}");
    }
}

/// Two tenants with an Action of the same slug and secrets of the same
/// names: each sign-in sees its own tenant's value, never the other's.
pub async fn tenants_with_the_same_action_and_secret_names_see_their_own_values(h: &Harness) {
    let mut bindings = Vec::new();
    for (tenant, value) in [("north", "north-value-0001"), ("south", "south-value-0002")] {
        let token = h.tenant(tenant).await;
        h.actions()
            .create_action(auth(
                pb::CreateActionRequest {
                    slug: "crm".into(),
                    triggers: vec![POST_LOGIN.into()],
                    source: Some(source(SOURCE)),
                    secrets: declared(&["API_KEY", "HOOK"]),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .expect("create");
        for (name, value) in [("API_KEY", value), ("HOOK", "hook-value-000")] {
            h.secrets()
                .set_secret(auth(
                    pb::SetSecretRequest {
                        action_slug: "crm".into(),
                        name: name.into(),
                        value: value.into(),
                    },
                    &token,
                ))
                .await
                .expect("set");
        }
        publish(h, &token, "crm", "0.1.0").await.expect("publish");
        let binding = attach(h, &token, POST_LOGIN, "crm", serde_json::json!({}), false)
            .await
            .expect("attach");
        bindings.push((tenant, value, binding.id));
    }
    for (tenant, value, binding) in &bindings {
        let answer = h
            .execute_when(tenant, POST_LOGIN, &login_event("a@x.test"), &[binding])
            .await;
        assert_eq!(
            claims(&answer)["https://x/reversed"],
            reversed(value).as_str()
        );
    }
    // A sealed row copied onto the other tenant's secret does not open there.
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(h.database_url())
        .await
        .expect("connect");
    let (wrapped, ciphertext): (Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT wrapped_key, ciphertext FROM action_secrets \
         WHERE tenant_id = 'north' AND slug = 'crm' AND name = 'API_KEY'",
    )
    .fetch_one(&mut db)
    .await
    .expect("north's row");
    sqlx::query(
        "UPDATE action_secrets SET wrapped_key = $1, ciphertext = $2 \
         WHERE tenant_id = 'south' AND slug = 'crm' AND name = 'API_KEY'",
    )
    .bind(wrapped.as_slice())
    .bind(ciphertext.as_slice())
    .execute(&mut db)
    .await
    .expect("copy it onto south's");
    let copied = replica(h, Some(SealingKeys::new(&SECRETS_KEY, &[])))
        .await
        .expect("a replica");
    assert!(copied.action_secret_values("south", "crm").await.is_err());
    assert_eq!(
        copied
            .action_secret_values("north", "crm")
            .await
            .expect("north's own")
            .get("API_KEY")
            .map(String::as_str),
        Some("north-value-0001")
    );
}
