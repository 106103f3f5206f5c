//! `action.json`: what an Action's package says about itself.
//!
//! The CLI reads it before it packs or uploads, the control plane when a
//! package arrives, and the standalone demo for its starters. They share this
//! one reading so that a manifest one of them accepts is never refused by
//! another for a different reason. It lives beside the trigger catalog
//! because its triggers are checked against it, and because the manifest is
//! part of the contract between the CLI and the control plane.
//!
//! Only the shape of `config_schema` is checked here (a JSON Schema is an
//! object or a boolean): compiling it needs a JSON Schema engine, which the
//! control plane has and checks it with, and the CLI does not carry.

use crate::catalog::{Trigger, UnknownTrigger};
use crate::sizes::{MAX_SECRET_DESCRIPTION_BYTES, MAX_SECRETS_PER_ACTION};
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::Read as _;
use std::path::Path;

/// The manifest's file name, at the root of a package.
pub const MANIFEST_FILE: &str = "action.json";

/// The largest manifest read: far above any real one, low enough that a
/// hostile package cannot make the reader hold much.
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024;

/// What a valid slug looks like, for error messages.
pub const SLUG_RULE: &str =
    "use 1 to 64 lower-case letters, digits and '-', not starting or ending with '-'";

/// Every field a manifest may have; any other is refused so that a typo
/// (`trigger` for `triggers`) is not silently ignored.
const FIELDS: [&str; 7] = [
    "name",
    "slug",
    "version",
    "triggers",
    "config_schema",
    "description",
    "secrets",
];

/// What a valid secret name looks like, for error messages.
pub const SECRET_NAME_RULE: &str = "use 1 to 64 letters, digits and '_', not starting with a digit";

/// Whether `name` is 1-64 of `A-Z`, `a-z`, `0-9` and `_`, not starting with
/// a digit: it is read as `event.secrets.NAME`, so it must be an identifier.
pub fn is_valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

/// A secret an Action needs: its value is set per Action by a tenant admin,
/// never kept in the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SecretDeclaration {
    /// Read as `event.secrets.NAME` (see [`is_valid_secret_name`]).
    pub name: String,
    /// What it is, for whoever sets it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A checked `action.json`. Holding one means every field was valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    /// Display name, trimmed and not empty.
    pub name: String,
    /// URL-safe id, unique per tenant (see [`is_valid_slug`]).
    pub slug: String,
    /// The version to save; `None`: the latest with its patch bumped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<semver::Version>,
    /// The trigger slots the Action is made for: at least one, each once, in
    /// the manifest's order.
    pub triggers: Vec<Trigger>,
    /// JSON Schema of the binding configuration; `None`: any object (or, for
    /// a new version, the latest version's schema).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<Value>,
    /// Free text, kept in the package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The secrets it reads, each once, in the manifest's order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretDeclaration>,
}

/// Why a manifest was refused. Each names the file, and the field when one
/// is at fault.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {file}: {source}; a package needs an action.json")]
    Io {
        /// The manifest's path.
        file: String,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The file is over [`MAX_MANIFEST_BYTES`].
    #[error("{file} is over the limit of {limit} bytes")]
    TooLarge {
        /// The manifest's path.
        file: String,
        /// The limit.
        limit: u64,
    },
    /// The file is not JSON.
    #[error("{file} is not JSON: {source}")]
    NotJson {
        /// The manifest's path.
        file: String,
        /// Where and why the parser stopped.
        source: serde_json::Error,
    },
    /// The JSON is not an object.
    #[error("{file} must hold a JSON object, not {found}")]
    NotAnObject {
        /// The manifest's path.
        file: String,
        /// What it holds instead.
        found: &'static str,
    },
    /// A field that manifests do not have.
    #[error(
        "{file}: unknown field `{field}`; a manifest has name, slug, version, triggers, \
         config_schema, description and secrets"
    )]
    UnknownField {
        /// The manifest's path.
        file: String,
        /// The field.
        field: String,
    },
    /// A required field is absent.
    #[error("{file}: `{field}` is missing")]
    MissingField {
        /// The manifest's path.
        file: String,
        /// The field.
        field: &'static str,
    },
    /// A field, or an item of one, of the wrong JSON type.
    #[error("{file}: `{field}` must be {expected}, not {found}")]
    WrongType {
        /// The manifest's path.
        file: String,
        /// The field, with the index of the item for an array's (`triggers[1]`).
        field: String,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// `name` is empty or only whitespace.
    #[error("{file}: `name` is empty; give the Action a display name")]
    EmptyName {
        /// The manifest's path.
        file: String,
    },
    /// `slug` breaks [`SLUG_RULE`].
    #[error("{file}: `slug` {slug:?} is not a valid slug: {SLUG_RULE}")]
    InvalidSlug {
        /// The manifest's path.
        file: String,
        /// The slug.
        slug: String,
    },
    /// `version` is not semver.
    #[error(
        "{file}: `version` {version:?} is not semver (like 1.4.2): {source}; \
         remove it to bump the patch"
    )]
    InvalidVersion {
        /// The manifest's path.
        file: String,
        /// The version as written.
        version: String,
        /// What semver said.
        source: semver::Error,
    },
    /// `triggers` is an empty list.
    #[error("{file}: `triggers` is empty: name at least one trigger the Action is made for")]
    NoTriggers {
        /// The manifest's path.
        file: String,
    },
    /// A trigger that is not in the catalog.
    #[error("{file}: `triggers`: {source}")]
    UnknownTrigger {
        /// The manifest's path.
        file: String,
        /// The name and the known ones.
        source: UnknownTrigger,
    },
    /// An entry of `secrets` is wrong: its name, a repeat, or too many.
    #[error("{file}: `{field}`: {reason}")]
    InvalidSecret {
        /// The manifest's path.
        file: String,
        /// `secrets`, or the entry (`secrets[2].name`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `config_schema` cannot be a JSON Schema.
    #[error(
        "{file}: `config_schema` must be a JSON Schema (an object, or true or false), not {found}"
    )]
    InvalidConfigSchema {
        /// The manifest's path.
        file: String,
        /// What it is.
        found: &'static str,
    },
}

/// Whether `slug` is 1-64 of `a-z`, `0-9` and `-`, not starting or ending
/// with `-`: it appears in URLs, file names and logs unescaped.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

impl Manifest {
    /// Reads and checks `<dir>/action.json`.
    pub fn load(dir: &Path) -> Result<Self, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let file = path.display().to_string();
        let io = |source| ManifestError::Io {
            file: file.clone(),
            source,
        };
        let mut bytes = Vec::new();
        // One byte over the limit is enough to know it is too large.
        std::fs::File::open(&path)
            .map_err(io)?
            .take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Self::parse(&file, &bytes)
    }

    /// Checks the bytes of a manifest; `file` is how errors name it.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self, ManifestError> {
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge {
                file: file.to_owned(),
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let value: Value =
            serde_json::from_slice(bytes).map_err(|source| ManifestError::NotJson {
                file: file.to_owned(),
                source,
            })?;
        let Value::Object(mut fields) = value else {
            return Err(ManifestError::NotAnObject {
                file: file.to_owned(),
                found: kind(&value),
            });
        };
        if let Some(field) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(ManifestError::UnknownField {
                file: file.to_owned(),
                field: field.clone(),
            });
        }
        let mut reader = Fields {
            file,
            fields: &mut fields,
        };
        let name = reader.required_string("name")?.trim().to_owned();
        if name.is_empty() {
            return Err(ManifestError::EmptyName {
                file: file.to_owned(),
            });
        }
        let slug = reader.required_string("slug")?;
        if !is_valid_slug(&slug) {
            return Err(ManifestError::InvalidSlug {
                file: file.to_owned(),
                slug,
            });
        }
        let version = match reader.optional_string("version")? {
            // The API's empty version means "bump the patch"; a manifest that
            // says it the same way means the same.
            None => None,
            Some(text) if text.is_empty() => None,
            Some(text) => Some(semver::Version::parse(&text).map_err(|source| {
                ManifestError::InvalidVersion {
                    file: file.to_owned(),
                    version: text.clone(),
                    source,
                }
            })?),
        };
        let triggers = reader.triggers()?;
        let config_schema = match reader.take("config_schema") {
            None => None,
            Some(schema @ (Value::Object(_) | Value::Bool(_))) => Some(schema),
            Some(other) => {
                return Err(ManifestError::InvalidConfigSchema {
                    file: file.to_owned(),
                    found: kind(&other),
                });
            }
        };
        let description = reader.optional_string("description")?;
        let secrets = reader.secrets()?;
        Ok(Self {
            name,
            slug,
            version,
            triggers,
            config_schema,
            description,
            secrets,
        })
    }

    /// The manifest as `action.json` text: pretty, with a final newline.
    pub fn to_json_pretty(&self) -> String {
        // Every field is a string, a list of strings or a JSON value already:
        // serialising cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// The fields of one manifest, taken out one by one as they are checked.
struct Fields<'a> {
    file: &'a str,
    fields: &'a mut Map<String, Value>,
}

impl Fields<'_> {
    /// A field's value; JSON `null` counts as absent, as it always has for
    /// the optional fields.
    fn take(&mut self, field: &str) -> Option<Value> {
        self.fields.remove(field).filter(|v| !v.is_null())
    }

    fn missing(&self, field: &'static str) -> ManifestError {
        ManifestError::MissingField {
            file: self.file.to_owned(),
            field,
        }
    }

    fn wrong_type(&self, field: &str, expected: &'static str, found: &Value) -> ManifestError {
        ManifestError::WrongType {
            file: self.file.to_owned(),
            field: field.to_owned(),
            expected,
            found: kind(found),
        }
    }

    fn optional_string(&mut self, field: &'static str) -> Result<Option<String>, ManifestError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.wrong_type(field, "a string", &other)),
        }
    }

    fn required_string(&mut self, field: &'static str) -> Result<String, ManifestError> {
        self.optional_string(field)?
            .ok_or_else(|| self.missing(field))
    }

    fn triggers(&mut self) -> Result<Vec<Trigger>, ManifestError> {
        let items = match self.take("triggers") {
            None => return Err(self.missing("triggers")),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(self.wrong_type("triggers", "a list of trigger names", &other));
            }
        };
        if items.is_empty() {
            return Err(ManifestError::NoTriggers {
                file: self.file.to_owned(),
            });
        }
        let mut triggers: Vec<Trigger> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let Value::String(name) = item else {
                return Err(self.wrong_type(&format!("triggers[{index}]"), "a trigger name", item));
            };
            let trigger: Trigger =
                name.parse()
                    .map_err(|source| ManifestError::UnknownTrigger {
                        file: self.file.to_owned(),
                        source,
                    })?;
            if !triggers.contains(&trigger) {
                triggers.push(trigger);
            }
        }
        Ok(triggers)
    }
}

impl Fields<'_> {
    /// `secrets`: a list of names, or of `{ "name": ..., "description": ... }`.
    fn secrets(&mut self) -> Result<Vec<SecretDeclaration>, ManifestError> {
        let items = match self.take("secrets") {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(self.wrong_type("secrets", "a list of secrets", &other)),
        };
        let invalid = |field: String, reason: String| ManifestError::InvalidSecret {
            file: self.file.to_owned(),
            field,
            reason,
        };
        if items.len() > MAX_SECRETS_PER_ACTION {
            return Err(invalid(
                "secrets".into(),
                format!(
                    "{} secrets; an Action may have at most {MAX_SECRETS_PER_ACTION}",
                    items.len()
                ),
            ));
        }
        let mut declared: Vec<SecretDeclaration> = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let field = format!("secrets[{index}]");
            let declaration = match item {
                Value::String(name) => SecretDeclaration {
                    name,
                    description: String::new(),
                },
                Value::Object(mut entry) => {
                    if let Some(other) = entry.keys().find(|k| *k != "name" && *k != "description")
                    {
                        return Err(invalid(
                            field,
                            format!("unknown field `{other}`; a secret has name and description"),
                        ));
                    }
                    let name = match entry.remove("name") {
                        Some(Value::String(name)) => name,
                        Some(other) => {
                            return Err(self.wrong_type(
                                &format!("{field}.name"),
                                "a string",
                                &other,
                            ));
                        }
                        None => return Err(invalid(field, "`name` is missing".into())),
                    };
                    let description = match entry.remove("description") {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(text)) => text,
                        Some(other) => {
                            return Err(self.wrong_type(
                                &format!("{field}.description"),
                                "a string",
                                &other,
                            ));
                        }
                    };
                    SecretDeclaration { name, description }
                }
                other => {
                    return Err(self.wrong_type(&field, "a secret's name or an object", &other));
                }
            };
            if !is_valid_secret_name(&declaration.name) {
                return Err(invalid(
                    format!("{field}.name"),
                    format!(
                        "{:?} is not a valid secret name: {SECRET_NAME_RULE}",
                        declaration.name
                    ),
                ));
            }
            if declaration.description.len() > MAX_SECRET_DESCRIPTION_BYTES {
                return Err(invalid(
                    format!("{field}.description"),
                    format!(
                        "{} bytes, over the limit of {MAX_SECRET_DESCRIPTION_BYTES}",
                        declaration.description.len()
                    ),
                ));
            }
            if declared.iter().any(|d| d.name == declaration.name) {
                return Err(invalid(
                    format!("{field}.name"),
                    format!("{:?} is declared twice", declaration.name),
                ));
            }
            declared.push(declaration);
        }
        Ok(declared)
    }
}

/// A JSON value's kind, as error messages name it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = "pkg/action.json";

    fn parse(value: &Value) -> Result<Manifest, ManifestError> {
        Manifest::parse(FILE, value.to_string().as_bytes())
    }

    fn valid() -> Value {
        json!({
            "name": "Domain allowlist",
            "slug": "domain-allowlist",
            "version": "1.4.2",
            "triggers": ["login.pre-credential-check", "registration.pre-create"],
            "config_schema": { "type": "object" },
            "description": "Lets in only the listed domains."
        })
    }

    /// `valid()` with `field` set to `value` (`None`: removed).
    fn with(field: &str, value: Option<Value>) -> Value {
        let mut manifest = valid();
        let fields = manifest.as_object_mut().expect("an object");
        match value {
            Some(value) => fields.insert(field.to_owned(), value),
            None => fields.remove(field),
        };
        manifest
    }

    fn file_of(error: &ManifestError) -> &str {
        match error {
            ManifestError::Io { file, .. }
            | ManifestError::TooLarge { file, .. }
            | ManifestError::NotJson { file, .. }
            | ManifestError::NotAnObject { file, .. }
            | ManifestError::UnknownField { file, .. }
            | ManifestError::MissingField { file, .. }
            | ManifestError::WrongType { file, .. }
            | ManifestError::EmptyName { file }
            | ManifestError::InvalidSlug { file, .. }
            | ManifestError::InvalidVersion { file, .. }
            | ManifestError::NoTriggers { file }
            | ManifestError::UnknownTrigger { file, .. }
            | ManifestError::InvalidSecret { file, .. }
            | ManifestError::InvalidConfigSchema { file, .. } => file,
        }
    }

    #[test]
    fn a_valid_manifest_gives_every_field_typed() {
        let manifest = parse(&valid()).expect("valid");
        assert_eq!(manifest.name, "Domain allowlist");
        assert_eq!(manifest.slug, "domain-allowlist");
        assert_eq!(manifest.version, Some(semver::Version::new(1, 4, 2)));
        assert_eq!(
            manifest.triggers,
            [
                Trigger::LoginPreCredentialCheck,
                Trigger::RegistrationPreCreate
            ]
        );
        assert_eq!(manifest.config_schema, Some(json!({ "type": "object" })));
        assert_eq!(
            manifest.description.as_deref(),
            Some("Lets in only the listed domains.")
        );
    }

    #[test]
    fn optional_fields_may_be_absent_null_or_an_empty_version() {
        let minimal = json!({
            "name": " Minimal ", "slug": "m", "triggers": ["login.post-login"]
        });
        let manifest = parse(&minimal).expect("valid");
        assert_eq!(manifest.name, "Minimal", "the name is trimmed");
        assert_eq!(manifest.version, None);
        assert_eq!(manifest.config_schema, None);
        assert_eq!(manifest.description, None);
        let absent = |field: &str, value: Value| parse(&with(field, Some(value))).expect(field);
        assert_eq!(absent("version", json!(null)).version, None);
        assert_eq!(absent("version", json!("")).version, None);
        assert_eq!(absent("config_schema", json!(null)).config_schema, None);
        assert_eq!(absent("description", json!(null)).description, None);
        let boolean = parse(&with("config_schema", Some(json!(true)))).expect("true");
        assert_eq!(boolean.config_schema, Some(json!(true)));
    }

    #[test]
    fn repeated_triggers_are_kept_once_in_order() {
        let manifest = parse(&with(
            "triggers",
            Some(json!([
                "login.post-login",
                "login.pre-credential-check",
                "login.post-login"
            ])),
        ))
        .expect("valid");
        assert_eq!(
            manifest.triggers,
            [Trigger::LoginPostLogin, Trigger::LoginPreCredentialCheck]
        );
    }

    #[test]
    fn a_written_manifest_reads_back_the_same() {
        let manifest = parse(&valid()).expect("valid");
        let text = manifest.to_json_pretty();
        assert!(text.ends_with("}\n"));
        let again = Manifest::parse(FILE, text.as_bytes()).expect("reads back");
        assert_eq!(again, manifest);
    }

    #[test]
    fn each_missing_required_field_is_named() {
        for field in ["name", "slug", "triggers"] {
            let error = parse(&with(field, None)).expect_err(field);
            assert!(
                matches!(&error, ManifestError::MissingField { field: named, .. } if *named == field),
                "{field}: {error:?}"
            );
            assert_eq!(file_of(&error), FILE);
        }
        let error = parse(&with("name", Some(json!(null)))).expect_err("null name");
        assert!(
            matches!(error, ManifestError::MissingField { field: "name", .. }),
            "{error:?}"
        );
    }

    #[test]
    fn each_field_of_the_wrong_type_is_named() {
        let cases = [
            ("name", json!(3), "name", "a number"),
            ("slug", json!(["x"]), "slug", "a list"),
            ("version", json!(1.2), "version", "a number"),
            (
                "triggers",
                json!("login.post-login"),
                "triggers",
                "a string",
            ),
            (
                "triggers",
                json!(["login.post-login", 7]),
                "triggers[1]",
                "a number",
            ),
            ("description", json!({}), "description", "an object"),
        ];
        for (field, value, named, kind) in cases {
            let error = parse(&with(field, Some(value))).expect_err(named);
            assert!(
                matches!(
                    &error,
                    ManifestError::WrongType { field, found, .. } if field == named && *found == kind
                ),
                "{named}: {error:?}"
            );
            assert_eq!(file_of(&error), FILE);
        }
    }

    #[test]
    fn secrets_are_names_or_objects_and_keep_their_order() {
        let manifest = parse(&with(
            "secrets",
            Some(json!(["API_KEY", { "name": "hook_secret", "description": "signs webhooks" }])),
        ))
        .expect("valid");
        assert_eq!(
            manifest.secrets,
            [
                SecretDeclaration {
                    name: "API_KEY".into(),
                    description: String::new()
                },
                SecretDeclaration {
                    name: "hook_secret".into(),
                    description: "signs webhooks".into()
                },
            ]
        );
        let again = Manifest::parse(FILE, manifest.to_json_pretty().as_bytes()).expect("again");
        assert_eq!(again, manifest);
        assert!(parse(&valid()).expect("valid").secrets.is_empty());
    }

    #[test]
    fn bad_secret_declarations_are_refused_naming_the_entry() {
        let too_many: Vec<String> = (0..=MAX_SECRETS_PER_ACTION)
            .map(|i| format!("S{i}"))
            .collect();
        let cases = [
            (json!(["1ST"]), "secrets[0].name"),
            (json!(["OK", "has-dash"]), "secrets[1].name"),
            (json!(["A", { "name": "A" }]), "secrets[1].name"),
            (json!([{ "description": "no name" }]), "secrets[0]"),
            (
                json!([{ "name": "X", "value": "never here" }]),
                "secrets[0]",
            ),
            (json!(too_many), "secrets"),
        ];
        for (secrets, named) in cases {
            let error = parse(&with("secrets", Some(secrets))).expect_err(named);
            assert!(
                matches!(&error, ManifestError::InvalidSecret { field, .. } if field == named),
                "{named}: {error:?}"
            );
        }
        let error = parse(&with("secrets", Some(json!("API_KEY")))).expect_err("a string");
        assert!(
            matches!(&error, ManifestError::WrongType { field, .. } if field == "secrets"),
            "{error:?}"
        );
    }

    #[test]
    fn a_bad_version_is_refused() {
        for version in ["1.2", "v1.2.3", "latest", "01.2.3"] {
            let error = parse(&with("version", Some(json!(version)))).expect_err(version);
            assert!(
                matches!(&error, ManifestError::InvalidVersion { version: v, .. } if v == version),
                "{version}: {error:?}"
            );
        }
    }

    #[test]
    fn an_unknown_or_missing_trigger_is_refused() {
        let error = parse(&with(
            "triggers",
            Some(json!(["login.post-login", "login.after-coffee"])),
        ))
        .expect_err("unknown");
        assert!(
            matches!(&error, ManifestError::UnknownTrigger { source, .. } if source.0 == "login.after-coffee"),
            "{error:?}"
        );
        let error = parse(&with("triggers", Some(json!([])))).expect_err("empty");
        assert!(
            matches!(error, ManifestError::NoTriggers { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_config_schema_that_is_not_a_schema_is_refused() {
        for (schema, kind) in [
            (json!("object"), "a string"),
            (json!(["type", "object"]), "a list"),
            (json!(12), "a number"),
        ] {
            let error = parse(&with("config_schema", Some(schema))).expect_err(kind);
            assert!(
                matches!(&error, ManifestError::InvalidConfigSchema { found, .. } if *found == kind),
                "{kind}: {error:?}"
            );
        }
    }

    #[test]
    fn bad_slugs_and_names_are_refused() {
        for slug in ["", "Not A Slug", "-edge", "edge-", "émile", &"x".repeat(65)] {
            let error = parse(&with("slug", Some(json!(slug)))).expect_err(slug);
            assert!(
                matches!(&error, ManifestError::InvalidSlug { slug: s, .. } if s == slug),
                "{slug:?}: {error:?}"
            );
        }
        let error = parse(&with("name", Some(json!("   ")))).expect_err("blank name");
        assert!(
            matches!(error, ManifestError::EmptyName { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn unknown_fields_and_what_is_not_a_manifest_are_refused() {
        let error = parse(&with("trigger", Some(json!("login.post-login")))).expect_err("typo");
        assert!(
            matches!(&error, ManifestError::UnknownField { field, .. } if field == "trigger"),
            "{error:?}"
        );
        let error = Manifest::parse(FILE, b"{\"name\": ").expect_err("truncated");
        assert!(matches!(error, ManifestError::NotJson { .. }), "{error:?}");
        let error = parse(&json!(["name"])).expect_err("a list");
        assert!(
            matches!(
                error,
                ManifestError::NotAnObject {
                    found: "a list",
                    ..
                }
            ),
            "{error:?}"
        );
        let padded = format!("{}{}", valid(), " ".repeat(MAX_MANIFEST_BYTES as usize));
        let error = Manifest::parse(FILE, padded.as_bytes()).expect_err("too large");
        assert!(matches!(error, ManifestError::TooLarge { .. }), "{error:?}");
    }

    #[test]
    fn load_reads_the_folder_s_action_json_and_names_it() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path();
        let error = Manifest::load(dir).expect_err("no file yet");
        assert!(matches!(error, ManifestError::Io { .. }), "{error:?}");
        let path = dir.join(MANIFEST_FILE);
        std::fs::write(&path, valid().to_string()).expect("write");
        assert_eq!(Manifest::load(dir).expect("valid").slug, "domain-allowlist");
        std::fs::write(&path, with("version", Some(json!("one"))).to_string()).expect("write");
        let error = Manifest::load(dir).expect_err("bad version");
        assert!(
            matches!(error, ManifestError::InvalidVersion { .. }),
            "{error:?}"
        );
        assert_eq!(file_of(&error), path.display().to_string());
    }

    #[test]
    fn every_example_manifest_is_valid() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let mut read = 0;
        for group in ["starters", "patterns"] {
            for entry in std::fs::read_dir(examples.join(group)).expect("examples") {
                let dir = entry.expect("entry").path();
                if dir.join(MANIFEST_FILE).is_file() {
                    Manifest::load(&dir).unwrap_or_else(|e| panic!("{e}"));
                    read += 1;
                }
            }
        }
        assert!(read >= 4, "only {read} examples found");
    }
}
