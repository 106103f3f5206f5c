//! Config schemas (JSON Schema) and the configs checked against them.

use crate::Error;
use serde_json::Value;

/// A config schema that is known to be a valid JSON Schema.
pub struct ConfigSchema {
    validator: jsonschema::Validator,
}

impl ConfigSchema {
    /// Parses and checks a schema; empty text means "any object".
    pub fn parse(text: &str) -> Result<(String, Self), Error> {
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
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(Error::Invalid("config_json must be a JSON object".into())),
        Err(e) => Err(Error::Invalid(format!("config_json is not JSON: {e}"))),
    }
}
