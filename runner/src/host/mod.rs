//! Host functions the plugin imports, one module per `api` namespace, and
//! the per-run state they act on.
//!
//! ABI (see `javy-shims/README.md`): strings are UTF-8 `(ptr, len)` in the
//! plugin's memory; values are JSON text. A call returns an `i32` status:
//! `>= 0` is success with that many bytes of result waiting, `< 0` is failure
//! with `-status` bytes of error message waiting; the plugin copies either
//! with `result_read` and turns a failure into a thrown `Error`. Limits that
//! end the run (log flood, memory) trap instead.

pub(crate) mod access;
pub(crate) mod console;
pub(crate) mod fetch;
pub mod payload;
pub(crate) mod run;
pub(crate) mod tokens;
pub(crate) mod user;
pub(crate) mod wasi;

use crate::fetch::HttpFetch;
use crate::limits::RunLimits;
use crate::report::{Effects, LogLevel, LogLine, LogOrigin};
use actions_proto::catalog::{Method, Trigger};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use wasmtime::{Caller, Extern, Linker, ResourceLimiter};

/// Most bytes one host call reads from the plugin.
pub(crate) const MAX_CALL_PAYLOAD: usize = 4 * 1024 * 1024;
/// Most bytes of WASI stderr kept (JS stacks of traps that abort).
const MAX_STDERR: usize = 16 * 1024;

/// Why a run was stopped by the host rather than by wasmtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Stop {
    #[error("the run wrote more than its log limit")]
    LogLimit,
    #[error("the run passed its deadline")]
    Deadline,
    #[error("the plugin broke the host ABI")]
    Abi,
    #[error("the plugin called proc_exit")]
    Exit,
}

pub(crate) use payload::Completion;

/// Everything one run owns. Dropped with its `Store`.
pub(crate) struct RunState {
    pub trigger: Trigger,
    pub limits: RunLimits,
    pub event_json: String,
    pub started: Instant,
    pub deadline: Instant,
    pub effects: Effects,
    pub effect_bytes: u64,
    pub deny_reason: Option<String>,
    pub logs: Vec<LogLine>,
    pub log_bytes: u64,
    pub completion: Option<Completion>,
    pub pending_result: Vec<u8>,
    pub stderr: Vec<u8>,
    pub memory_limit_hit: bool,
    pub stop: Option<Stop>,
    pub fetch_calls: u32,
    pub fetcher: Option<Arc<dyn HttpFetch>>,
    pub random_state: u64,
    /// What the run reads from outside itself: recorded, or played back.
    pub tape: crate::replay::Tape,
}

impl RunState {
    pub(crate) fn log(
        &mut self,
        level: LogLevel,
        origin: LogOrigin,
        message: String,
    ) -> Result<(), Stop> {
        let size = message.len() as u64;
        let remaining = self.limits.log_bytes.saturating_sub(self.log_bytes);
        if size > remaining {
            let mut cut = remaining as usize;
            while cut > 0 && !message.is_char_boundary(cut) {
                cut -= 1;
            }
            if cut > 0 {
                self.push_log(level, origin, message[..cut].to_owned());
            }
            self.log_bytes = self.limits.log_bytes;
            self.push_log(
                LogLevel::Error,
                LogOrigin::Runtime,
                format!(
                    "log limit of {} bytes reached; the run was stopped",
                    self.limits.log_bytes
                ),
            );
            self.stop = Some(Stop::LogLimit);
            return Err(Stop::LogLimit);
        }
        self.log_bytes += size;
        self.push_log(level, origin, message);
        Ok(())
    }

    /// Appends a line without counting it against the log limit (runtime notes).
    pub(crate) fn push_log(&mut self, level: LogLevel, origin: LogOrigin, message: String) {
        let timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.logs.push(LogLine {
            level,
            origin,
            message,
            timestamp_ms,
        });
    }

    /// Refuses a method the trigger does not allow, with a line in the log.
    pub(crate) fn check_allowed(&mut self, method: Method) -> Result<Result<(), String>, Stop> {
        if self.trigger.allows(method) {
            return Ok(Ok(()));
        }
        let message = format!(
            "{} is not available in trigger {}; available there: {}",
            method.js_name(),
            self.trigger,
            self.trigger.allowed_methods().join(", ")
        );
        self.log(LogLevel::Error, LogOrigin::Runtime, message.clone())?;
        Ok(Err(message))
    }

    /// Counts bytes of claims and metadata against the run's limit.
    pub(crate) fn charge_effect(&mut self, bytes: usize) -> Result<(), String> {
        self.effect_fits(bytes as u64)?;
        self.effect_bytes += bytes as u64;
        Ok(())
    }

    /// Whether `bytes` more of claims and metadata fit, checked before the
    /// payload is even read: a value far over the limit is refused as such,
    /// not copied.
    pub(crate) fn effect_fits(&self, bytes: u64) -> Result<(), String> {
        let total = self.effect_bytes.saturating_add(bytes);
        if total > self.limits.effect_bytes {
            return Err(format!(
                "claims and metadata would take {total} bytes, over the limit of {} bytes",
                self.limits.effect_bytes
            ));
        }
        Ok(())
    }

    /// Stores a call's result for `result_read` and returns its status.
    pub(crate) fn settle(&mut self, result: Result<Vec<u8>, String>) -> i32 {
        let (bytes, sign) = match result {
            Ok(bytes) => (bytes, 1),
            Err(message) => (message.into_bytes(), -1),
        };
        let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
        self.pending_result = bytes;
        sign * len
    }

    /// xorshift64*: `Math.random` needs speed and per-run unpredictability,
    /// not cryptographic strength (no crypto API is offered).
    pub(crate) fn next_random(&mut self) -> u64 {
        let mut x = self.random_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.random_state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl ResourceLimiter for RunState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.limits.memory_bytes {
            self.memory_limit_hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Reads `len` bytes at `ptr` of the calling plugin's memory.
pub(crate) fn read_guest(
    caller: &mut Caller<'_, RunState>,
    ptr: u32,
    len: u32,
) -> wasmtime::Result<Vec<u8>> {
    let len = len as usize;
    if len > MAX_CALL_PAYLOAD {
        return Err(Stop::Abi.into());
    }
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return Err(Stop::Abi.into());
    };
    let start = ptr as usize;
    memory
        .data(&caller)
        .get(start..start + len)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| Stop::Abi.into())
}

/// Reads a UTF-8 string argument (the plugin only ever passes Rust strings).
pub(crate) fn read_string(
    caller: &mut Caller<'_, RunState>,
    ptr: u32,
    len: u32,
) -> wasmtime::Result<String> {
    String::from_utf8(read_guest(caller, ptr, len)?).map_err(|_| Stop::Abi.into())
}

/// Writes `bytes` at `ptr` of the calling plugin's memory.
pub(crate) fn write_guest(
    caller: &mut Caller<'_, RunState>,
    ptr: u32,
    bytes: &[u8],
) -> wasmtime::Result<()> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return Err(Stop::Abi.into());
    };
    memory
        .write(caller, ptr as usize, bytes)
        .map_err(|_| Stop::Abi.into())
}

pub(crate) fn capture_stderr(state: &mut RunState, bytes: &[u8]) {
    let room = MAX_STDERR.saturating_sub(state.stderr.len());
    state
        .stderr
        .extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Every host function the plugin imports.
pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    run::add_to_linker(linker)?;
    access::add_to_linker(linker)?;
    tokens::add_to_linker(linker)?;
    user::add_to_linker(linker)?;
    console::add_to_linker(linker)?;
    fetch::add_to_linker(linker)?;
    wasi::add_to_linker(linker)?;
    Ok(())
}
