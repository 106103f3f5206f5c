//! Auth0-style Actions: a CommonJS entry that assigns Auth0's handlers
//! (`exports.onExecutePostLogin`, …) runs unchanged at the trigger each
//! handler names, and an Action made for a trigger its source has no
//! handler for is refused, naming both.

use super::{POST_LOGIN, attach, claims, create, publish};
use crate::harness::Harness;
use actions_proto::runner::v1::Decision;
use serde_json::json;
use tonic::Code;

const PRE_CREATE: &str = "registration.pre-create";

/// The shape of Auth0's documented "add user roles to tokens" Action.
const ROLES: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  if (event.authorization) {
    api.idToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
    api.accessToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
  }
};
"#;

/// Two handlers in one `module.exports`, one per trigger.
const BOTH: &str = r#"const blocked = (email) => email.endsWith('@blocked.test');
module.exports = {
  onExecutePreUserRegistration: async (event, api) => {
    if (blocked(event.user.email)) api.access.deny('blocked domain');
  },
  async onExecutePostLogin(event, api) {
    api.accessToken.setCustomClaim('https://x/seen', true);
  },
};
"#;

fn js(text: &str) -> actions_proto::controlplane::v1::Source {
    actions_proto::controlplane::v1::Source {
        files: [("src/index.js".to_owned(), text.to_owned())].into(),
        entry: "src/index.js".into(),
    }
}

pub async fn auth0_handlers_run_unchanged_at_their_own_triggers(h: &Harness) {
    let token = h.tenant("acme").await;
    create(h, &token, "roles", &[POST_LOGIN], "", js(ROLES))
        .await
        .expect("an Auth0 Action compiles unchanged");
    publish(h, &token, "roles", "0.1.0").await.expect("publish");
    let roles = attach(h, &token, POST_LOGIN, "roles", json!({}), false)
        .await
        .expect("attach");
    let event = json!({
        "user": { "user_id": "auth0|1", "email": "ada@example.com" },
        "authorization": { "roles": ["admin", "billing"] },
    })
    .to_string();
    let answer = h
        .execute_when("acme", POST_LOGIN, &event, &[&roles.id])
        .await;
    assert_eq!(answer.decision, Decision::Allow as i32);
    assert_eq!(
        claims(&answer)["https://my-app.example.com/roles"],
        json!(["admin", "billing"])
    );

    create(h, &token, "both", &[POST_LOGIN, PRE_CREATE], "", js(BOTH))
        .await
        .expect("two handlers");
    publish(h, &token, "both", "0.1.0").await.expect("publish");
    let signup = attach(h, &token, PRE_CREATE, "both", json!({}), false)
        .await
        .expect("attach at pre-create");
    let denied = h
        .execute_when(
            "acme",
            PRE_CREATE,
            &json!({ "user": { "email": "eve@blocked.test" } }).to_string(),
            &[&signup.id],
        )
        .await;
    assert_eq!(denied.decision, Decision::Deny as i32);
    assert_eq!(denied.deny_reason, "blocked domain");

    // Made for a trigger the source has no handler for: refused, nothing stored.
    let refused = create(h, &token, "mismatch", &[PRE_CREATE], "", js(ROLES))
        .await
        .map(drop)
        .expect_err("refused");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let missing = h
        .actions()
        .get_action(actions_test_support::auth(
            actions_proto::controlplane::v1::GetActionRequest {
                slug: "mismatch".into(),
            },
            &token,
        ))
        .await
        .map(drop)
        .expect_err("not stored");
    assert_eq!(missing.code(), Code::NotFound);
    // A CommonJS module that assigns no handler at all is refused as a
    // source without an entry point.
    let none = create(
        h,
        &token,
        "nothing",
        &[POST_LOGIN],
        "",
        js("exports.helper = () => 1;\n"),
    )
    .await
    .map(drop)
    .expect_err("refused");
    assert_eq!(none.code(), Code::InvalidArgument);
}
