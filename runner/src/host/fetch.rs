//! `api.fetch`: the one asynchronous host call. The run's fiber suspends
//! while the request is in flight; other runs on the same thread go on.

use super::{RunState, read_guest};
use crate::fetch::{FetchError, FetchRequest};
use crate::report::{LogLevel, LogOrigin};
use actions_plugin_host::HOST_MODULE;
use actions_proto::catalog::Method;
use std::time::{Duration, Instant};
use wasmtime::{Caller, Linker};

pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    linker.func_wrap_async(
        HOST_MODULE,
        "fetch",
        |mut caller: Caller<'_, RunState>, (ptr, len): (u32, u32)| {
            Box::new(async move {
                let prepared = if len as u64 > request_room(caller.data()) {
                    // Refused unread: the body alone is over its limit.
                    let limit = caller.data().limits.fetch_request_bytes;
                    Ok(Err(format!(
                        "api.fetch: the request is {len} bytes, over the limit of {limit} bytes for its body"
                    )))
                } else {
                    let bytes = read_guest(&mut caller, ptr, len)?;
                    prepare(caller.data_mut(), &bytes)
                }?;
                let result = match prepared {
                    Err(message) => Err(message),
                    Ok((request, timeout, fetcher)) => {
                        let url = request.url.clone();
                        let limit = caller.data().limits.fetch_response_bytes;
                        match tokio::time::timeout(timeout, fetcher.fetch(request, timeout, limit))
                            .await
                        {
                            Ok(Ok(response)) if response.body.len() as u64 > limit => {
                                Err(FetchError::ResponseTooLarge { url, limit }.to_string())
                            }
                            Ok(Ok(response)) => {
                                serde_json::to_vec(&response).map_err(|e| e.to_string())
                            }
                            Ok(Err(error)) => Err(error.to_string()),
                            Err(_) => Err(format!(
                                "api.fetch of {url} timed out after {} ms",
                                timeout.as_millis()
                            )),
                        }
                    }
                };
                let state = caller.data_mut();
                if let Err(message) = &result {
                    state.log(LogLevel::Warn, LogOrigin::Runtime, message.clone())?;
                }
                Ok(state.settle(result))
            })
        },
    )?;
    Ok(())
}

type Prepared = (
    FetchRequest,
    Duration,
    std::sync::Arc<dyn crate::fetch::HttpFetch>,
);

/// The largest request (JSON: URL, headers and body) read from the plugin:
/// the body's limit plus room for the rest, within the host's payload cap.
fn request_room(state: &RunState) -> u64 {
    (state.limits.fetch_request_bytes + 64 * 1024).min(super::MAX_CALL_PAYLOAD as u64)
}

/// The checks every fetch gets before any transport sees it.
fn prepare(state: &mut RunState, bytes: &[u8]) -> Result<Result<Prepared, String>, super::Stop> {
    if let Err(message) = state.check_allowed(Method::Fetch)? {
        return Ok(Err(message));
    }
    let request = match super::payload::fetch_request(bytes) {
        Ok(request) => request,
        Err(message) => return Ok(Err(message)),
    };
    if state.fetch_calls >= state.limits.fetch_calls {
        return Ok(Err(format!(
            "api.fetch: this run already made its {} allowed calls",
            state.limits.fetch_calls
        )));
    }
    state.fetch_calls += 1;
    let body_len = request.body.as_ref().map_or(0, String::len) as u64;
    if body_len > state.limits.fetch_request_bytes {
        return Ok(Err(format!(
            "api.fetch: the request body is {body_len} bytes, over the limit of {} bytes",
            state.limits.fetch_request_bytes
        )));
    }
    let Some(fetcher) = state.fetcher.clone() else {
        return Ok(Err("api.fetch is not enabled on this runner".into()));
    };
    let remaining = state.deadline.saturating_duration_since(Instant::now());
    let timeout =
        super::payload::fetch_timeout(state.limits.fetch_timeout_ms, remaining, request.timeout_ms);
    Ok(Ok((request, timeout, fetcher)))
}
