//! `types/secrets.d.ts`: the secrets a package's `action.json` declares, as
//! the `Secrets` type of `event.secrets` (`Event<Config, Secrets>`), so that
//! an editor knows the names and a typo is a type error. Written by
//! `action init`, and kept in step by `action build`, `test` and `pack`.

use actions_proto::manifest::{MANIFEST_FILE, Manifest, SecretDeclaration};
use anyhow::Context as _;
use std::path::Path;

/// Where the declarations go, in a package.
pub(crate) const SECRETS_D_TS: &str = "types/secrets.d.ts";

/// The declarations of `secrets`.
pub(crate) fn declarations(secrets: &[SecretDeclaration]) -> String {
    let mut text = String::from(
        "// Written by `action` from action.json's \"secrets\"; edit those, not this file.\n\
         /** The secrets this Action declares, as `event.secrets` holds them. */\n",
    );
    if secrets.is_empty() {
        text.push_str("export interface Secrets {}\n");
        return text;
    }
    text.push_str("export interface Secrets {\n");
    for secret in secrets {
        if !secret.description.is_empty() {
            let description = secret.description.replace("*/", "* /");
            text.push_str(&format!("  /** {description} */\n"));
        }
        text.push_str(&format!("  readonly {}: string;\n", secret.name));
    }
    text.push_str("}\n");
    text
}

/// Rewrites `<package>/types/secrets.d.ts` when the package has a `types/`
/// folder and a manifest, and the file says something else. A package
/// without either is left alone: it is not one `action init` made.
pub(crate) fn refresh(package: &Path) -> anyhow::Result<()> {
    if !package.is_dir() || !package.join("types").is_dir() {
        return Ok(());
    }
    if !package.join(MANIFEST_FILE).is_file() {
        return Ok(());
    }
    let manifest = Manifest::load(package)?;
    let target = package.join(SECRETS_D_TS);
    let wanted = declarations(&manifest.secrets);
    if std::fs::read_to_string(&target).ok().as_deref() != Some(wanted.as_str()) {
        std::fs::write(&target, wanted).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_secret_is_a_readonly_string_with_its_description() {
        let text = declarations(&[
            SecretDeclaration {
                name: "API_KEY".into(),
                description: "the CRM's key */ evil".into(),
            },
            SecretDeclaration {
                name: "hook".into(),
                description: String::new(),
            },
        ]);
        assert!(text.contains("  /** the CRM's key * / evil */\n  readonly API_KEY: string;\n"));
        assert!(text.contains("  readonly hook: string;\n}"));
        assert!(declarations(&[]).contains("export interface Secrets {}"));
    }
}
