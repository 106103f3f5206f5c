//! The WASI preview 1 calls the plugin imports, and nothing more: no files,
//! no environment, no arguments. stdout and stderr are captured (a trap's
//! JavaScript stack arrives there), clocks read the host's, randomness is
//! per run; both go through the run's tape (`crate::replay`), which records
//! them or, in a replay, plays them back.

use super::{RunState, Stop, capture_stderr, read_guest, write_guest};
use std::time::{SystemTime, UNIX_EPOCH};
use wasmtime::{Caller, Linker};

const MODULE: &str = "wasi_snapshot_preview1";
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_INVAL: i32 = 28;
const CLOCK_REALTIME: i32 = 0;

pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "fd_write",
        |mut caller: Caller<'_, RunState>,
         fd: i32,
         iovs: u32,
         iovs_len: u32,
         nwritten: u32|
         -> wasmtime::Result<i32> {
            if fd != 1 && fd != 2 {
                return Ok(ERRNO_BADF);
            }
            let table = read_guest(&mut caller, iovs, iovs_len.saturating_mul(8))?;
            let mut total: u32 = 0;
            for entry in table.chunks_exact(8) {
                let ptr = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
                let len = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
                let bytes = read_guest(&mut caller, ptr, len.min(64 * 1024))?;
                capture_stderr(caller.data_mut(), &bytes);
                total = total.saturating_add(len);
            }
            write_guest(&mut caller, nwritten, &total.to_le_bytes())?;
            Ok(ERRNO_SUCCESS)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "random_get",
        |mut caller: Caller<'_, RunState>, buf: u32, len: u32| -> wasmtime::Result<i32> {
            if len > 64 * 1024 {
                return Ok(ERRNO_INVAL);
            }
            let state = caller.data_mut();
            let mut bytes = Vec::with_capacity(len as usize + 8);
            while bytes.len() < len as usize {
                bytes.extend_from_slice(&state.next_random().to_le_bytes());
            }
            bytes.truncate(len as usize);
            write_guest(&mut caller, buf, &bytes)?;
            Ok(ERRNO_SUCCESS)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "clock_time_get",
        |mut caller: Caller<'_, RunState>,
         clock: i32,
         _precision: i64,
         out: u32|
         -> wasmtime::Result<i32> {
            let state = caller.data_mut();
            let started = state.started;
            let nanos = if clock == CLOCK_REALTIME {
                state.tape.clock(false, || {
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                })
            } else {
                state.tape.clock(true, || {
                    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
                })
            };
            write_guest(&mut caller, out, &nanos.to_le_bytes())?;
            Ok(ERRNO_SUCCESS)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "environ_sizes_get",
        |mut caller: Caller<'_, RunState>, count: u32, size: u32| -> wasmtime::Result<i32> {
            write_guest(&mut caller, count, &0u32.to_le_bytes())?;
            write_guest(&mut caller, size, &0u32.to_le_bytes())?;
            Ok(ERRNO_SUCCESS)
        },
    )?;
    linker.func_wrap(MODULE, "environ_get", |_: u32, _: u32| ERRNO_SUCCESS)?;
    linker.func_wrap(MODULE, "fd_close", |_: i32| ERRNO_BADF)?;
    linker.func_wrap(MODULE, "fd_fdstat_get", |_: i32, _: u32| ERRNO_BADF)?;
    linker.func_wrap(MODULE, "fd_seek", |_: i32, _: i64, _: i32, _: u32| {
        ERRNO_BADF
    })?;
    linker.func_wrap(MODULE, "proc_exit", |_: i32| -> wasmtime::Result<()> {
        Err(Stop::Exit.into())
    })?;
    Ok(())
}
