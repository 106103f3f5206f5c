//! `api.accessToken` and `api.idToken`: custom claims and scopes.

use super::{RunState, read_string};
use crate::report::{LogLevel, LogOrigin};
use actions_plugin_host::HOST_MODULE;
use actions_proto::catalog::Method;
use wasmtime::{Caller, Linker};

/// Claims that the identity platform owns. An Action that sets one carries
/// on, as on Auth0: the claim is dropped and the run's log says so.
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "azp",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "at_hash",
    "c_hash",
    "sid",
    "scope",
    "cnf",
    "client_id",
    "gty",
    "org_id",
];

const MAX_CLAIM_NAME_BYTES: usize = 256;
const MAX_SCOPE_BYTES: usize = 256;

const ACCESS_TOKEN: i32 = 0;
const ID_TOKEN: i32 = 1;

fn check_claim_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the claim name is empty".into());
    }
    if name.len() > MAX_CLAIM_NAME_BYTES {
        return Err(format!(
            "the claim name is longer than {MAX_CLAIM_NAME_BYTES} bytes"
        ));
    }
    Ok(())
}

/// Why a reserved claim was dropped, for the run's log.
fn dropped_reserved(method: Method, name: &str) -> String {
    format!(
        "{}: the claim {name:?} is reserved by the identity platform and was dropped; use a \
         namespaced name such as \"https://example.com/{name}\"",
        method.js_name()
    )
}

fn check_scope(scope: &str) -> Result<(), String> {
    if scope.is_empty() || scope.len() > MAX_SCOPE_BYTES || scope.contains(char::is_whitespace) {
        return Err(format!(
            "{scope:?} is not a scope: scopes are 1 to {MAX_SCOPE_BYTES} bytes without spaces"
        ));
    }
    Ok(())
}

pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        HOST_MODULE,
        "token_set_claim",
        |mut caller: Caller<'_, RunState>,
         token: i32,
         name_ptr: u32,
         name_len: u32,
         value_ptr: u32,
         value_len: u32|
         -> wasmtime::Result<i32> {
            let method = match token {
                ACCESS_TOKEN => Method::AccessTokenSetCustomClaim,
                ID_TOKEN => Method::IdTokenSetCustomClaim,
                _ => return Err(super::Stop::Abi.into()),
            };
            let state = caller.data_mut();
            if let Err(e) = state.effect_fits(u64::from(name_len) + u64::from(value_len)) {
                return Ok(state.settle(Err(format!("{}: {e}", method.js_name()))));
            }
            let name = read_string(&mut caller, name_ptr, name_len)?;
            let value_json = read_string(&mut caller, value_ptr, value_len)?;
            let state = caller.data_mut();
            if RESERVED_CLAIMS.contains(&name.as_str()) && state.check_allowed(method)?.is_ok() {
                state.log(
                    LogLevel::Warn,
                    LogOrigin::Runtime,
                    dropped_reserved(method, &name),
                )?;
                return Ok(state.settle(Ok(Vec::new())));
            }
            let result = state.check_allowed(method)?.and_then(|()| {
                check_claim_name(&name).map_err(|e| format!("{}: {e}", method.js_name()))?;
                let value = super::payload::effect_value(method.js_name(), &value_json)?;
                state
                    .charge_effect(name.len() + value_json.len())
                    .map_err(|e| format!("{}: {e}", method.js_name()))?;
                let claims = if token == ACCESS_TOKEN {
                    &mut state.effects.access_token_claims
                } else {
                    &mut state.effects.id_token_claims
                };
                claims.insert(name, value);
                Ok(Vec::new())
            });
            Ok(state.settle(result))
        },
    )?;
    for (name, method) in [
        ("token_add_scope", Method::AccessTokenAddScope),
        ("token_remove_scope", Method::AccessTokenRemoveScope),
    ] {
        linker.func_wrap(
            HOST_MODULE,
            name,
            move |mut caller: Caller<'_, RunState>, ptr: u32, len: u32| -> wasmtime::Result<i32> {
                if len as usize > MAX_SCOPE_BYTES {
                    let state = caller.data_mut();
                    let refused = format!(
                        "{}: the scope is {len} bytes; scopes are 1 to {MAX_SCOPE_BYTES} bytes without spaces",
                        method.js_name()
                    );
                    return Ok(state.settle(Err(refused)));
                }
                let scope = read_string(&mut caller, ptr, len)?;
                let state = caller.data_mut();
                let result = state.check_allowed(method)?.and_then(|()| {
                    check_scope(&scope).map_err(|e| format!("{}: {e}", method.js_name()))?;
                    state
                        .charge_effect(scope.len())
                        .map_err(|e| format!("{}: {e}", method.js_name()))?;
                    let (into, out_of) = if method == Method::AccessTokenAddScope {
                        (
                            &mut state.effects.scopes_added,
                            &mut state.effects.scopes_removed,
                        )
                    } else {
                        (
                            &mut state.effects.scopes_removed,
                            &mut state.effects.scopes_added,
                        )
                    };
                    out_of.retain(|s| *s != scope);
                    if !into.contains(&scope) {
                        into.push(scope);
                    }
                    Ok(Vec::new())
                });
                Ok(state.settle(result))
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_claims_and_scopes_are_refused() {
        assert!(check_claim_name("").is_err());
        assert!(check_claim_name(&"x".repeat(MAX_CLAIM_NAME_BYTES + 1)).is_err());
        assert!(check_claim_name("https://example.com/tier").is_ok());
        assert!(check_scope("read:users").is_ok());
        assert!(check_scope("two words").is_err());
    }
}
