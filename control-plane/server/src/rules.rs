//! The rules of the domain that more than one service applies, each in one
//! place. The services (`api::*`) call these; none borrows a rule from
//! another service.

use crate::Error;
use crate::schema::{ConfigSchema, parse_config};
use crate::store::{StoredBinding, StoredVersion};
use actions_compiler::{AUTH0_HANDLERS, EntryPoint};
use actions_proto::catalog::Trigger;
use actions_proto::controlplane::v1 as pb;
use actions_proto::manifest::{
    SECRET_NAME_RULE, SLUG_RULE, SecretDeclaration, is_valid_secret_name, is_valid_slug,
};
use actions_proto::sizes::{MAX_SECRET_DESCRIPTION_BYTES, MAX_SECRETS_PER_ACTION};
use serde_json::Value;

/// A slug (of an Action or a tenant), by the same rule as a manifest's.
pub fn check_slug(field: &str, slug: &str) -> Result<(), Error> {
    if is_valid_slug(slug) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{field} {slug:?} is not a valid slug: {SLUG_RULE}"
        )))
    }
}

/// Every trigger an Action is made for has something to run in its source:
/// `execute` runs at all of them; Auth0 handlers only at their own (an
/// `exports.onExecutePostLogin` is no answer to `registration.pre-create`).
pub fn check_entry_point(triggers: &[String], entry: &EntryPoint) -> Result<(), Error> {
    let EntryPoint::Handlers(served) = entry else {
        return Ok(());
    };
    let assigned: Vec<&str> = AUTH0_HANDLERS
        .iter()
        .filter(|(_, trigger)| served.contains(trigger))
        .map(|(name, _)| *name)
        .collect();
    for trigger in triggers {
        if served.iter().any(|t| t == trigger) {
            continue;
        }
        let wanted = AUTH0_HANDLERS
            .iter()
            .find(|(_, t)| t == trigger)
            .map_or_else(
                || "an `execute` export (no Auth0 handler runs there)".to_owned(),
                |(name, _)| format!("`exports.{name}` or an `execute` export"),
            );
        return Err(Error::Invalid(format!(
            "triggers: the Action is made for {trigger}, but its source only assigns {}; \
             {trigger} needs {wanted}",
            assigned.join(", ")
        )));
    }
    Ok(())
}

/// A trigger slot of the catalog, given in `field`.
pub fn check_trigger(field: &str, name: &str) -> Result<Trigger, Error> {
    name.parse()
        .map_err(|e| Error::Invalid(format!("{field}: {e}")))
}

/// Why a binding at `trigger` with `config` cannot run `version`, if it
/// cannot: the version must support the trigger, and the config must
/// match the version's config schema. Attaching, updating, test runs and
/// publishing all apply this one rule.
fn misfit(
    version: &StoredVersion,
    schema: &ConfigSchema,
    trigger: &str,
    config: &Value,
) -> Option<String> {
    let triggers = version.trigger_names();
    if !triggers.iter().any(|t| t == trigger) {
        return Some(format!(
            "version {} does not support trigger {trigger}; it supports: {}",
            version.version,
            triggers.join(", ")
        ));
    }
    let problems = schema.problems(config);
    if !problems.is_empty() {
        return Some(format!(
            "the config does not match the config schema of version {}: {}",
            version.version,
            problems.join("; ")
        ));
    }
    None
}

/// The version's config schema (checked when the version was saved).
fn schema_of(version: &StoredVersion) -> Result<ConfigSchema, Error> {
    Ok(ConfigSchema::parse(&version.config_schema)?.1)
}

/// A binding of `version` at `trigger` with `config` (JSON text; empty:
/// `{}`) fits it; returns the config as it is stored. A config that is not
/// a JSON object is [`Error::Invalid`]; one that does not fit is
/// [`Error::Misfit`].
pub fn check_binding(
    version: &StoredVersion,
    trigger: &str,
    config: &str,
) -> Result<String, Error> {
    let value = parse_config(config)?;
    match misfit(version, &schema_of(version)?, trigger, &value) {
        Some(why) => Err(Error::Misfit(format!("action {:?}: {why}", version.slug))),
        None => Ok(value.to_string()),
    }
}

/// Secret declarations from the API (`field` names them in errors): each
/// name valid and once, at most [`MAX_SECRETS_PER_ACTION`].
pub fn check_secret_declarations(
    field: &str,
    declared: Vec<pb::SecretDeclaration>,
) -> Result<Vec<SecretDeclaration>, Error> {
    if declared.len() > MAX_SECRETS_PER_ACTION {
        return Err(Error::Invalid(format!(
            "{field}: {} secrets; an Action may have at most {MAX_SECRETS_PER_ACTION}",
            declared.len()
        )));
    }
    let mut checked: Vec<SecretDeclaration> = Vec::with_capacity(declared.len());
    for (index, d) in declared.into_iter().enumerate() {
        check_secret_name(&format!("{field}[{index}].name"), &d.name)?;
        if d.description.len() > MAX_SECRET_DESCRIPTION_BYTES {
            return Err(Error::Invalid(format!(
                "{field}[{index}].description is {} bytes, over the limit of \
                 {MAX_SECRET_DESCRIPTION_BYTES}",
                d.description.len()
            )));
        }
        if checked.iter().any(|c| c.name == d.name) {
            return Err(Error::Invalid(format!(
                "{field}[{index}].name: {:?} is declared twice",
                d.name
            )));
        }
        checked.push(SecretDeclaration {
            name: d.name,
            description: d.description,
        });
    }
    Ok(checked)
}

/// A secret's name (see [`SECRET_NAME_RULE`]).
pub fn check_secret_name(field: &str, name: &str) -> Result<(), Error> {
    if is_valid_secret_name(name) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{field}: {name:?} is not a valid secret name: {SECRET_NAME_RULE}"
        )))
    }
}

/// Every secret `version` reads has a value ([`Error::SecretsNotSet`]
/// naming those without), and every binding that follows its major fits it
/// ([`Error::Misfit`], naming each binding it would break): then it can be
/// published.
pub fn check_publish(
    version: &StoredVersion,
    following: &[StoredBinding],
    secrets_set: &[String],
) -> Result<(), Error> {
    let unset: Vec<String> = version
        .secret_declarations()
        .into_iter()
        .filter(|d| !secrets_set.contains(&d.name))
        .map(|d| d.name)
        .collect();
    if !unset.is_empty() {
        return Err(Error::SecretsNotSet {
            action: version.slug.clone(),
            version: version.version.clone(),
            names: unset,
        });
    }
    let schema = schema_of(version)?;
    let mut broken = Vec::new();
    for binding in following {
        let config = parse_config(&binding.config)?;
        if let Some(why) = misfit(version, &schema, &binding.trigger_name, &config) {
            broken.push(format!("{} ({}): {why}", binding.id, binding.trigger_name));
        }
    }
    if broken.is_empty() {
        return Ok(());
    }
    Err(Error::Misfit(format!(
        "publishing {}@{} would break {} binding(s) that follow major {}; \
         fix their config or publish a new major: {}",
        version.slug,
        version.version,
        broken.len(),
        version.major,
        broken.join(" | ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(schema: &str) -> StoredVersion {
        StoredVersion {
            slug: "allowlist".into(),
            version: "1.2.0".into(),
            major: 1,
            triggers: r#"["login.post-login"]"#.into(),
            config_schema: schema.into(),
            module_sha256: "m".into(),
            created_at_ms: 0,
            created_by: "dev".into(),
            published_at_ms: 0,
            live: 0,
            plugin_id: "p".into(),
            wasm_bytes: 0,
            secrets: "[]".into(),
        }
    }

    fn binding(trigger: &str, config: &str) -> StoredBinding {
        StoredBinding {
            id: "bnd_1".into(),
            trigger_name: trigger.into(),
            position: 0,
            action_slug: "allowlist".into(),
            major: 1,
            config: config.into(),
            fail_open: 0,
            created_at_ms: 0,
            updated_at_ms: 0,
            version: "1.1.0".into(),
            module_sha256: "m".into(),
            limits: None,
        }
    }

    const NEEDS_MODE: &str = r#"{"type":"object","required":["mode"]}"#;

    #[test]
    fn attaching_and_publishing_refuse_a_misfit_alike() {
        let v = version(NEEDS_MODE);
        let attach = check_binding(&v, "login.post-login", "{}");
        let publish = check_publish(&v, &[binding("login.post-login", "{}")], &[]);
        for refused in [attach, publish.map(|()| String::new())] {
            match refused {
                Err(Error::Misfit(message)) => assert!(message.contains("mode"), "{message}"),
                other => panic!("expected a misfit, got {other:?}"),
            }
        }
        let wrong_slot = check_publish(&v, &[binding("registration.pre-create", "{}")], &[]);
        assert!(matches!(wrong_slot, Err(Error::Misfit(m)) if m.contains("bnd_1")));
        assert!(matches!(
            check_binding(&v, "registration.pre-create", r#"{"mode":"x"}"#),
            Err(Error::Misfit(_))
        ));
    }

    #[test]
    fn a_fitting_binding_passes_and_a_malformed_config_is_invalid() {
        let v = version(NEEDS_MODE);
        assert_eq!(
            check_binding(&v, "login.post-login", r#"{ "mode": "x" }"#).ok(),
            Some(r#"{"mode":"x"}"#.to_owned())
        );
        assert!(check_publish(&v, &[binding("login.post-login", r#"{"mode":"x"}"#)], &[]).is_ok());
        assert!(matches!(
            check_binding(&v, "login.post-login", "[1]"),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn publishing_needs_a_value_for_every_secret_the_version_reads() {
        let mut v = version("{}");
        v.secrets = r#"[{"name":"API_KEY"},{"name":"HOOK","description":"signs"}]"#.into();
        let following = [binding("login.post-login", "{}")];
        match check_publish(&v, &following, &["HOOK".into(), "UNUSED".into()]) {
            Err(Error::SecretsNotSet { names, .. }) => assert_eq!(names, ["API_KEY"]),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(check_publish(&v, &following, &["API_KEY".into(), "HOOK".into()]).is_ok());
    }

    #[test]
    fn slugs_and_triggers() {
        assert!(check_slug("slug", "a-b-1").is_ok());
        for bad in ["", "-a", "a-", "A", "a_b", &"a".repeat(65)] {
            assert!(
                matches!(check_slug("slug", bad), Err(Error::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(check_trigger("trigger", "login.post-login").is_ok());
        assert!(matches!(
            check_trigger("trigger", "login.nope"),
            Err(Error::Invalid(m)) if m.starts_with("trigger: ")
        ));
    }
}
