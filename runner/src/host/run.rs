//! The run itself: the event in, the completion out, and the result buffer
//! every other call answers through.

use super::{MAX_CALL_PAYLOAD, RunState, Stop, payload, read_guest, write_guest};
use actions_plugin_host::HOST_MODULE;
use wasmtime::{Caller, Linker};

pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        HOST_MODULE,
        "run_event",
        |mut caller: Caller<'_, RunState>| -> i32 {
            let state = caller.data_mut();
            let event = state.event_json.clone().into_bytes();
            state.settle(Ok(event))
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "run_complete",
        |mut caller: Caller<'_, RunState>, ptr: u32, len: u32| -> wasmtime::Result<i32> {
            // `{"ok":true}` is small: only an error report can be this large
            // (a message or stack of megabytes). It is the Action's failure,
            // reported by its size rather than copied.
            let completion = if len as usize > MAX_CALL_PAYLOAD {
                payload::Completion::Threw {
                    name: "Error".into(),
                    message: format!(
                        "the Action failed with an error of {len} bytes, too large to report"
                    ),
                    stack: String::new(),
                }
            } else {
                let bytes = read_guest(&mut caller, ptr, len)?;
                payload::completion(&bytes).ok_or(Stop::Abi)?
            };
            let state = caller.data_mut();
            // The driver completes once; keep the first word if it did not.
            state.completion.get_or_insert(completion);
            Ok(state.settle(Ok(Vec::new())))
        },
    )?;
    linker.func_wrap(
        HOST_MODULE,
        "result_read",
        |mut caller: Caller<'_, RunState>, dst: u32| -> wasmtime::Result<()> {
            let bytes = std::mem::take(&mut caller.data_mut().pending_result);
            write_guest(&mut caller, dst, &bytes)
        },
    )?;
    Ok(())
}
