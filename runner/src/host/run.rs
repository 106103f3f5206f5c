//! The run itself: the event in, the completion out, and the result buffer
//! every other call answers through.

use super::{Completion, RunState, Stop, read_guest, write_guest};
use actions_plugin::HOST_MODULE;
use serde::Deserialize;
use wasmtime::{Caller, Linker};

#[derive(Deserialize)]
struct Report {
    ok: bool,
    #[serde(default)]
    error: Option<ThrownError>,
}

#[derive(Deserialize)]
struct ThrownError {
    name: String,
    message: String,
    #[serde(default)]
    stack: String,
}

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
            let bytes = read_guest(&mut caller, ptr, len)?;
            let report: Report = serde_json::from_slice(&bytes).map_err(|_| Stop::Abi)?;
            let completion = match (report.ok, report.error) {
                (true, _) => Completion::Ok,
                (false, Some(e)) => Completion::Threw {
                    name: e.name,
                    message: e.message,
                    stack: e.stack,
                },
                (false, None) => return Err(Stop::Abi.into()),
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
