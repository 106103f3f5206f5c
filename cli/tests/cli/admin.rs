//! `action admin` against the embedded service: tenants, tokens and
//! runners' tokens, as text and as JSON, the operator token from the
//! environment, a flag or the profile, and the refusals of a tenant token.

use crate::common::{Embedded, action_for, admin_for, json_of, refusal, succeeded};
use serde_json::{Value, json};
use std::process::Command;

#[test]
fn an_operator_manages_tenants_and_tokens() {
    let service = Embedded::start();
    let admin = |args: &[&str]| admin_for(&service.server, &service.operator, args);

    // Tenants.
    let created = admin(&[
        "admin", "tenants", "create", "acme", "--name", "Acme", "--json",
    ]);
    succeeded(&created, "tenants create");
    assert_eq!(json_of(&created)["id"], "acme");
    assert_eq!(json_of(&created)["name"], "Acme");
    let created = admin(&["admin", "tenants", "create", "globex"]);
    succeeded(&created, "tenants create as text");
    assert!(String::from_utf8_lossy(&created.stdout).contains("created tenant globex"));
    let again = admin(&["admin", "tenants", "create", "acme", "--json"]);
    assert_eq!(refusal(&again, "a tenant twice"), "ALREADY_EXISTS");
    let bad = admin(&["admin", "tenants", "create", "Not Valid", "--json"]);
    assert_eq!(refusal(&bad, "a malformed tenant id"), "INVALID_ARGUMENT");
    let listed = admin(&["admin", "tenants", "list", "--json"]);
    succeeded(&listed, "tenants list");
    let ids: Vec<Value> = json_of(&listed)
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert!(
        ids.contains(&json!("acme")) && ids.contains(&json!("globex")),
        "{ids:?}"
    );
    let text = String::from_utf8_lossy(&admin(&["admin", "tenants", "list"]).stdout).into_owned();
    assert!(text.contains("acme") && text.contains("Acme"), "{text}");

    // A tenant's token: the secret once, and it works.
    let created = admin(&[
        "admin", "tokens", "create", "acme", "--name", "ci", "--json",
    ]);
    succeeded(&created, "tokens create");
    let created = json_of(&created);
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let id = created["token"]["id"].as_str().expect("id").to_owned();
    assert_eq!(created["token"]["tenant"], "acme");
    succeeded(
        &action_for(&service.server, &secret, &["list", "--json"]),
        "the new token lists acme's Actions",
    );
    // As text, the secret alone on standard output, what it is on standard error.
    let as_text = admin(&["admin", "tokens", "create", "acme", "--name", "laptop"]);
    succeeded(&as_text, "tokens create as text");
    let laptop = String::from_utf8_lossy(&as_text.stdout).trim().to_owned();
    assert_eq!(String::from_utf8_lossy(&as_text.stdout).lines().count(), 1);
    succeeded(
        &action_for(&service.server, &laptop, &["list"]),
        "the secret printed as text works",
    );
    let unknown = admin(&[
        "admin", "tokens", "create", "nobody", "--name", "x", "--json",
    ]);
    assert_eq!(refusal(&unknown, "a token for no tenant"), "NOT_FOUND");
    let listed = admin(&["admin", "tokens", "list", "acme", "--json"]);
    succeeded(&listed, "tokens list");
    let listed = json_of(&listed);
    let names: Vec<&Value> = listed
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| &t["name"])
        .collect();
    assert!(
        names.contains(&&json!("ci")) && names.contains(&&json!("laptop")),
        "{names:?}"
    );
    assert!(
        !listed.to_string().contains(&secret),
        "a listing never shows a secret"
    );
    let text =
        String::from_utf8_lossy(&admin(&["admin", "tokens", "list", "acme"]).stdout).into_owned();
    assert!(text.contains(&id) && !text.contains(&secret), "{text}");

    // Revoked, it no longer works.
    let revoked = admin(&["admin", "tokens", "revoke", &id, "--json"]);
    succeeded(&revoked, "tokens revoke");
    assert_eq!(json_of(&revoked)["revoked"], true);
    let after = action_for(&service.server, &secret, &["list", "--json"]);
    assert_eq!(refusal(&after, "a revoked token"), "UNAUTHENTICATED");
    let unknown = admin(&["admin", "tokens", "revoke", "tok_nope", "--json"]);
    assert_eq!(refusal(&unknown, "revoke an unknown token"), "NOT_FOUND");

    // Runners' tokens.
    let created = admin(&[
        "admin",
        "runner-tokens",
        "create",
        "--name",
        "eu-west",
        "--json",
    ]);
    succeeded(&created, "runner-tokens create");
    let runner_id = json_of(&created)["token"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(runner_id.starts_with("rtk_"), "{runner_id}");
    assert!(
        !json_of(&created)["secret"]
            .as_str()
            .expect("secret")
            .is_empty()
    );
    let runner_token = |listed: &Value| {
        listed
            .as_array()
            .expect("tokens")
            .iter()
            .find(|t| t["id"] == runner_id.as_str())
            .cloned()
            .expect("the new runner token is listed")
    };
    let as_text = admin(&["admin", "runner-tokens", "create", "--name", "us-east"]);
    succeeded(&as_text, "runner-tokens create as text");
    let secret_line = String::from_utf8_lossy(&as_text.stdout).into_owned();
    assert_eq!(
        secret_line.lines().count(),
        1,
        "the secret alone: {secret_line}"
    );
    assert!(
        String::from_utf8_lossy(&as_text.stderr).contains("for runners"),
        "what it is, on standard error"
    );
    let listed = admin(&["admin", "runner-tokens", "list", "--json"]);
    succeeded(&listed, "runner-tokens list");
    assert_eq!(runner_token(&json_of(&listed))["revoked"], false);
    let text =
        String::from_utf8_lossy(&admin(&["admin", "runner-tokens", "list"]).stdout).into_owned();
    assert!(
        text.contains(&runner_id) && text.contains("eu-west"),
        "{text}"
    );
    succeeded(
        &admin(&["admin", "tokens", "revoke", &runner_id]),
        "revoke a runner's token",
    );
    let listed = json_of(&admin(&["admin", "runner-tokens", "list", "--json"]));
    assert_eq!(runner_token(&listed)["revoked"], true);

    // A tenant's token is not the operator's, whichever way it comes.
    for args in [
        &["admin", "tenants", "list", "--json"][..],
        &["admin", "tenants", "create", "evil", "--json"],
        &["admin", "tokens", "create", "acme", "--name", "x", "--json"],
        &["admin", "tokens", "list", "acme", "--json"],
        &["admin", "tokens", "revoke", id.as_str(), "--json"],
        &["admin", "runner-tokens", "create", "--name", "x", "--json"],
        &["admin", "runner-tokens", "list", "--json"],
    ] {
        let out = admin_for(&service.server, &laptop, args);
        assert_eq!(
            refusal(&out, &args.join(" ")),
            "PERMISSION_DENIED",
            "{args:?}"
        );
    }
    let flag = admin_for(
        &service.server,
        "",
        &["admin", "tenants", "list", "--token", &laptop, "--json"],
    );
    assert_eq!(
        refusal(&flag, "a tenant token by flag"),
        "PERMISSION_DENIED"
    );
    // ACTIONS_TOKEN (a tenant's) is never taken for the operator's.
    let tenant_env = action_for(
        &service.server,
        &laptop,
        &["admin", "tenants", "list", "--json"],
    );
    assert_eq!(refusal(&tenant_env, "no operator token"), Value::Null);
    // And the operator token is not a tenant's.
    let operator_as_tenant = action_for(&service.server, &service.operator, &["list", "--json"]);
    assert_eq!(
        refusal(&operator_as_tenant, "the operator token as a tenant's"),
        "PERMISSION_DENIED"
    );

    // `action admin login` keeps the operator token beside the tenant's.
    let config_home = service.data.path().join("config");
    let profile_only = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_action"))
            .args(args)
            .env_remove("ACTIONS_SERVER")
            .env_remove("ACTIONS_TOKEN")
            .env_remove("ACTIONS_OPERATOR_TOKEN")
            .env("XDG_CONFIG_HOME", &config_home)
            .output()
            .expect("action runs")
    };
    let server = service.server.as_str();
    let wrong = profile_only(&[
        "admin", "login", "--server", server, "--token", "wrong", "--json",
    ]);
    assert_eq!(
        refusal(&wrong, "admin login with a wrong token"),
        "PERMISSION_DENIED"
    );
    succeeded(
        &profile_only(&["login", "--server", server, "--token", &laptop]),
        "login",
    );
    succeeded(
        &profile_only(&[
            "admin",
            "login",
            "--server",
            server,
            "--token",
            &service.operator,
        ]),
        "admin login",
    );
    let listed = profile_only(&["admin", "tenants", "list", "--json"]);
    succeeded(&listed, "tenants list with the profile");
    succeeded(
        &profile_only(&["list", "--json"]),
        "the tenant token is still kept",
    );
    let profile = config_home.join("actions/profile.toml");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&profile).expect("profile").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    service.stop();
}
