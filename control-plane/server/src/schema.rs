//! Config schemas (JSON Schema) and the configs checked against them.
//!
//! Both are tenant input checked on every attach, test run and publish, so
//! both are bounded where they enter: their size
//! ([`MAX_CONFIG_JSON_BYTES`], [`MAX_CONFIG_SCHEMA_BYTES`]) and, for
//! schemas, their `$ref`s: only references inside the schema (never a URL,
//! which would make the control plane fetch it), at most
//! [`MAX_SCHEMA_REFS`], and never a cycle, so that no schema can make a
//! check loop or recurse without end.

use crate::Error;
use actions_proto::sizes::{MAX_CONFIG_JSON_BYTES, MAX_CONFIG_SCHEMA_BYTES, MAX_SCHEMA_REFS};
use serde_json::Value;

/// A config schema that is known to be a valid JSON Schema.
pub struct ConfigSchema {
    validator: jsonschema::Validator,
}

impl ConfigSchema {
    /// Parses and checks a schema; empty text means "any object".
    pub fn parse(text: &str) -> Result<(String, Self), Error> {
        over_cap("config_schema_json", text.len(), MAX_CONFIG_SCHEMA_BYTES)?;
        let value: Value = if text.trim().is_empty() {
            serde_json::json!({ "type": "object" })
        } else {
            serde_json::from_str(text)
                .map_err(|e| Error::Invalid(format!("config_schema_json is not JSON: {e}")))?
        };
        let schema = Self::from_value(&value, "config_schema_json")?;
        Ok((value.to_string(), schema))
    }

    /// Checks a schema given as JSON; `field` is how errors name where it
    /// came from.
    pub fn from_value(value: &Value, field: &str) -> Result<Self, Error> {
        if !value.is_object() && !value.is_boolean() {
            return Err(Error::Invalid(format!(
                "{field} must be a JSON Schema (an object)"
            )));
        }
        over_cap(field, value.to_string().len(), MAX_CONFIG_SCHEMA_BYTES)?;
        check_refs(value, field)?;
        let validator = jsonschema::validator_for(value)
            .map_err(|e| Error::Invalid(format!("{field} is not a valid JSON Schema: {e}")))?;
        Ok(Self { validator })
    }

    /// Every way `config` breaks the schema, each as `/path: what is wrong`.
    pub fn problems(&self, config: &Value) -> Vec<String> {
        self.validator
            .iter_errors(config)
            .map(|error| {
                let path = error.instance_path().to_string();
                let path = if path.is_empty() {
                    "/".to_owned()
                } else {
                    path
                };
                format!("{path}: {error}")
            })
            .collect()
    }
}

/// Parses a binding config: a JSON object (empty text: `{}`).
pub fn parse_config(text: &str) -> Result<Value, Error> {
    over_cap("config_json", text.len(), MAX_CONFIG_JSON_BYTES)?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(Error::Invalid("config_json must be a JSON object".into())),
        Err(e) => Err(Error::Invalid(format!("config_json is not JSON: {e}"))),
    }
}

fn over_cap(field: &str, size: usize, limit: usize) -> Result<(), Error> {
    if size > limit {
        return Err(Error::Invalid(format!(
            "{field} is {size} bytes, over the limit of {limit} bytes"
        )));
    }
    Ok(())
}

/// A `$ref` of a schema: where it is and where it points, both as JSON
/// pointer tokens.
struct Reference {
    at: Vec<String>,
    target: Vec<String>,
}

fn pointer(tokens: &[String]) -> String {
    if tokens.is_empty() {
        return "the root".into();
    }
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Refuses references out of the schema, too many references, and any
/// cycle of references (a `$ref` whose target holds, directly or through
/// other references, the same `$ref` again).
fn check_refs(schema: &Value, field: &str) -> Result<(), Error> {
    let mut found = Vec::new();
    collect_refs(schema, &mut Vec::new(), &mut found, field)?;
    if found.len() > MAX_SCHEMA_REFS {
        return Err(Error::Invalid(format!(
            "{field} has {} $refs, over the limit of {MAX_SCHEMA_REFS}",
            found.len()
        )));
    }
    let mut references = Vec::with_capacity(found.len());
    for (at, text) in found {
        let target = resolve(schema, &text).ok_or_else(|| {
            Error::Invalid(format!(
                "{field}: $ref {text:?} at {} names nothing in the schema",
                pointer(&at)
            ))
        })?;
        references.push(Reference { at, target });
    }
    // Reference i leads to reference j when j is inside i's target.
    let leads_to = |i: usize, j: usize| references[j].at.starts_with(&references[i].target);
    // Depth-first search for a cycle: 0 unseen, 1 on the path, 2 done.
    let mut state = vec![0u8; references.len()];
    for start in 0..references.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            if *next == references.len() {
                state[node] = 2;
                stack.pop();
                continue;
            }
            let candidate = *next;
            *next += 1;
            if !leads_to(node, candidate) {
                continue;
            }
            match state[candidate] {
                0 => {
                    state[candidate] = 1;
                    stack.push((candidate, 0));
                }
                1 => {
                    return Err(Error::Invalid(format!(
                        "{field}: the $ref at {} leads back to itself (through {}); \
                         recursive config schemas are not supported",
                        pointer(&references[candidate].at),
                        pointer(&references[node].target),
                    )));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn collect_refs(
    value: &Value,
    path: &mut Vec<String>,
    found: &mut Vec<(Vec<String>, String)>,
    field: &str,
) -> Result<(), Error> {
    match value {
        Value::Object(map) => {
            for keyword in ["$dynamicRef", "$recursiveRef"] {
                if map.contains_key(keyword) {
                    return Err(Error::Invalid(format!(
                        "{field}: {keyword} at {} is not supported in config schemas",
                        pointer(path)
                    )));
                }
            }
            if let Some(reference) = map.get("$ref") {
                let Some(text) = reference.as_str().filter(|t| t.starts_with('#')) else {
                    return Err(Error::Invalid(format!(
                        "{field}: $ref {reference} at {} must point inside the schema \
                         (start with '#'); the control plane fetches no other schema",
                        pointer(path)
                    )));
                };
                found.push((path.clone(), text.to_owned()));
            }
            for (key, child) in map {
                path.push(key.clone());
                collect_refs(child, path, found, field)?;
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push(index.to_string());
                collect_refs(child, path, found, field)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Where `#/a/b` or `#name` (an `$anchor`) points, as tokens.
fn resolve(schema: &Value, reference: &str) -> Option<Vec<String>> {
    let fragment = reference.strip_prefix('#')?;
    if fragment.is_empty() || fragment.starts_with('/') {
        let tokens: Vec<String> = fragment
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        let mut at = schema;
        for token in &tokens {
            at = match at {
                Value::Object(map) => map.get(token)?,
                Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        return Some(tokens);
    }
    find_anchor(schema, fragment, &mut Vec::new())
}

fn find_anchor(value: &Value, anchor: &str, path: &mut Vec<String>) -> Option<Vec<String>> {
    match value {
        Value::Object(map) => {
            if map.get("$anchor").and_then(Value::as_str) == Some(anchor) {
                return Some(path.clone());
            }
            for (key, child) in map {
                path.push(key.clone());
                let found = find_anchor(child, anchor, path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(index, child)| {
            path.push(index.to_string());
            let found = find_anchor(child, anchor, path);
            path.pop();
            found
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(schema: Value) -> bool {
        matches!(
            ConfigSchema::from_value(&schema, "s"),
            Err(Error::Invalid(_))
        )
    }

    #[test]
    fn references_inside_the_schema_without_a_cycle_are_taken() {
        let schema = json!({
            "$defs": { "domain": { "type": "string" }, "list": { "type": "array", "items": { "$ref": "#/$defs/domain" } } },
            "properties": { "allowed": { "$ref": "#/$defs/list" }, "also": { "$ref": "#named" } },
            "$comment": "anchors too",
            "allOf": [ { "$anchor": "named", "type": "object" } ]
        });
        let checked = ConfigSchema::from_value(&schema, "s").expect("a schema without cycles");
        assert!(
            checked
                .problems(&json!({ "allowed": ["a.com"] }))
                .is_empty()
        );
        assert!(!checked.problems(&json!({ "allowed": [1] })).is_empty());
    }

    #[test]
    fn self_referencing_schemas_are_refused() {
        assert!(refused(json!({ "$ref": "#" })));
        assert!(refused(
            json!({ "properties": { "child": { "$ref": "#" } } })
        ));
        assert!(refused(json!({
            "$defs": { "a": { "$ref": "#/$defs/b" }, "b": { "allOf": [ { "$ref": "#/$defs/a" } ] } },
            "$ref": "#/$defs/a"
        })));
        assert!(refused(
            json!({ "$defs": { "a": { "$anchor": "x", "not": { "$ref": "#x" } } } })
        ));
    }

    #[test]
    fn references_out_of_the_schema_or_to_nothing_are_refused() {
        assert!(refused(
            json!({ "$ref": "https://example.com/schema.json" })
        ));
        assert!(refused(json!({ "$ref": "other.json#/a" })));
        assert!(refused(json!({ "$ref": "#/$defs/missing" })));
        assert!(refused(json!({ "$dynamicRef": "#meta" })));
        assert!(refused(json!({ "$ref": 5 })));
    }

    #[test]
    fn too_many_references_are_refused() {
        let defs: serde_json::Map<String, Value> = (0..=MAX_SCHEMA_REFS)
            .map(|i| (format!("d{i}"), json!({ "$ref": "#/$defs/leaf" })))
            .chain([("leaf".to_owned(), json!({ "type": "string" }))])
            .collect();
        assert!(refused(json!({ "$defs": defs })));
    }

    #[test]
    fn configs_and_schemas_past_their_caps_are_refused() {
        let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_CONFIG_JSON_BYTES));
        assert!(matches!(parse_config(&big), Err(Error::Invalid(_))));
        let fits = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_CONFIG_JSON_BYTES - 16));
        assert!(parse_config(&fits).is_ok());
        let schema = format!(
            r#"{{"type":"object","description":"{}"}}"#,
            "x".repeat(MAX_CONFIG_SCHEMA_BYTES)
        );
        assert!(matches!(
            ConfigSchema::parse(&schema),
            Err(Error::Invalid(_))
        ));
    }
}
