//! `api.access`: the decision.

use super::{RunState, read_guest};
use actions_plugin_host::HOST_MODULE;
use actions_proto::catalog::Method;
use wasmtime::{Caller, Linker};

/// Longest deny reason kept; the rest is cut (it is shown to end users).
const MAX_REASON_BYTES: usize = 1024;

pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        HOST_MODULE,
        "access_allow",
        |mut caller: Caller<'_, RunState>| -> wasmtime::Result<i32> {
            let state = caller.data_mut();
            let result = state
                .check_allowed(Method::AccessAllow)?
                .map(|()| Vec::new());
            Ok(state.settle(result))
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "access_deny",
        |mut caller: Caller<'_, RunState>, ptr: u32, len: u32| -> wasmtime::Result<i32> {
            // Only what is kept is read: a reason of any length is cut, not
            // copied whole (and not refused as an ABI break).
            let take = len.min(MAX_REASON_BYTES as u32 + 3);
            let mut reason =
                String::from_utf8_lossy(&read_guest(&mut caller, ptr, take)?).into_owned();
            let state = caller.data_mut();
            let result = state.check_allowed(Method::AccessDeny)?.map(|()| {
                if reason.len() > MAX_REASON_BYTES {
                    let mut cut = MAX_REASON_BYTES;
                    while !reason.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    reason.truncate(cut);
                }
                // The first deny stands: a later allow or deny cannot undo it.
                state.deny_reason.get_or_insert(reason);
                Vec::new()
            });
            Ok(state.settle(result))
        },
    )?;
    Ok(())
}
