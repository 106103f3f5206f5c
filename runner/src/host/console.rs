//! `console.*`: captured per run with level and timestamp, capped by the
//! run's log limit (a flood stops the run).

use super::{RunState, read_guest};
use crate::report::{LogLevel, LogOrigin};
use actions_plugin_host::HOST_MODULE;
use wasmtime::{Caller, Linker};

pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        HOST_MODULE,
        "console_log",
        |mut caller: Caller<'_, RunState>,
         level: i32,
         ptr: u32,
         len: u32|
         -> wasmtime::Result<i32> {
            let level = LogLevel::from_abi(level).ok_or(super::Stop::Abi)?;
            let state = caller.data();
            // Read at most one byte more than could be kept: enough for `log`
            // to see the overflow, cut and stop, without copying a flood.
            let room = state.limits.log_bytes.saturating_sub(state.log_bytes) + 1;
            let take = len.min(u32::try_from(room).unwrap_or(u32::MAX));
            let bytes = read_guest(&mut caller, ptr, take)?;
            let line = String::from_utf8_lossy(&bytes).into_owned();
            let state = caller.data_mut();
            state.log(level, LogOrigin::Action, line)?;
            Ok(state.settle(Ok(Vec::new())))
        },
    )?;
    Ok(())
}
