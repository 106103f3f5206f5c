//! `api.user`: metadata patches for the signed-in (or signing-up) user.

use super::{RunState, read_string};
use actions_plugin_host::HOST_MODULE;
use actions_proto::catalog::Method;
use wasmtime::{Caller, Linker};

const MAX_KEY_BYTES: usize = 256;
const APP_METADATA: i32 = 0;
const USER_METADATA: i32 = 1;

pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        HOST_MODULE,
        "user_set_metadata",
        |mut caller: Caller<'_, RunState>,
         kind: i32,
         key_ptr: u32,
         key_len: u32,
         value_ptr: u32,
         value_len: u32|
         -> wasmtime::Result<i32> {
            let method = match kind {
                APP_METADATA => Method::UserSetAppMetadata,
                USER_METADATA => Method::UserSetUserMetadata,
                _ => return Err(super::Stop::Abi.into()),
            };
            let state = caller.data_mut();
            if let Err(e) = state.effect_fits(u64::from(key_len) + u64::from(value_len)) {
                return Ok(state.settle(Err(format!("{}: {e}", method.js_name()))));
            }
            let key = read_string(&mut caller, key_ptr, key_len)?;
            let value_json = read_string(&mut caller, value_ptr, value_len)?;
            let state = caller.data_mut();
            let result = state.check_allowed(method)?.and_then(|()| {
                let name = method.js_name();
                if key.is_empty() || key.len() > MAX_KEY_BYTES {
                    return Err(format!(
                        "{name}: the key must be 1 to {MAX_KEY_BYTES} bytes"
                    ));
                }
                let value = super::payload::effect_value(name, &value_json)?;
                state
                    .charge_effect(key.len() + value_json.len())
                    .map_err(|e| format!("{name}: {e}"))?;
                let metadata = if kind == APP_METADATA {
                    &mut state.effects.app_metadata
                } else {
                    &mut state.effects.user_metadata
                };
                metadata.insert(key, value);
                Ok(Vec::new())
            });
            Ok(state.settle(result))
        },
    )?;
    Ok(())
}
