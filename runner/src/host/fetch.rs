//! `api.fetch`: the one asynchronous host call. The run's fiber suspends
//! while the request is in flight; other runs on the same thread go on.
//! Every fetch that passes the checks is recorded with its answer; in a
//! replay the answer comes from the record instead of the network.

use super::{RunState, read_guest};
use crate::fetch::{FetchError, FetchRequest, HttpFetch};
use crate::replay::{FetchAnswer, Played};
use crate::report::{LogLevel, LogOrigin};
use actions_plugin_host::HOST_MODULE;
use actions_proto::catalog::Method;
use std::sync::Arc;
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
                let answer: Result<(FetchRequest, FetchAnswer), String> = match prepared {
                    Err(message) | Ok(Prepared::Diverged(message)) => Err(message),
                    Ok(Prepared::Played(request, answer)) => Ok((request, answer)),
                    Ok(Prepared::Live(request, timeout, fetcher)) => {
                        let limit = caller.data().limits.fetch_response_bytes;
                        let answer = live(&request, timeout, fetcher, limit).await;
                        Ok((request, answer))
                    }
                };
                let result = answer.and_then(|(request, answer)| {
                    let result = match &answer {
                        FetchAnswer::Response(response) => {
                            serde_json::to_vec(response).map_err(|e| e.to_string())
                        }
                        FetchAnswer::Error(message) => Err(message.clone()),
                    };
                    caller.data_mut().tape.record_fetch(&request, answer);
                    result
                });
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

/// A fetch that passed the checks, and where its answer comes from.
enum Prepared {
    /// The network, through the runner's transport.
    Live(FetchRequest, Duration, Arc<dyn HttpFetch>),
    /// A replay's record, which holds this answer.
    Played(FetchRequest, FetchAnswer),
    /// A replay's record, which holds no answer: this error is thrown.
    Diverged(String),
}

/// The transport's answer, within the timeout and the response limit.
async fn live(
    request: &FetchRequest,
    timeout: Duration,
    fetcher: Arc<dyn HttpFetch>,
    limit: u64,
) -> FetchAnswer {
    let url = request.url.clone();
    let answer =
        match tokio::time::timeout(timeout, fetcher.fetch(request.clone(), timeout, limit)).await {
            Ok(Ok(response)) if response.body.len() as u64 > limit => {
                Err(FetchError::ResponseTooLarge { url, limit }.to_string())
            }
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!(
                "api.fetch of {url} timed out after {} ms",
                timeout.as_millis()
            )),
        };
    match answer {
        Ok(response) => FetchAnswer::Response(response),
        Err(message) => FetchAnswer::Error(message),
    }
}

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
    match state.tape.play_fetch(&request) {
        Some(Played::Answer(answer)) => return Ok(Ok(Prepared::Played(request, answer))),
        Some(Played::Diverged(message)) => return Ok(Ok(Prepared::Diverged(message))),
        None => {}
    }
    let Some(fetcher) = state.fetcher.clone() else {
        let answer = FetchAnswer::Error("api.fetch is not enabled on this runner".into());
        return Ok(Ok(Prepared::Played(request, answer)));
    };
    let remaining = state.deadline.saturating_duration_since(Instant::now());
    let timeout =
        super::payload::fetch_timeout(state.limits.fetch_timeout_ms, remaining, request.timeout_ms);
    Ok(Ok(Prepared::Live(request, timeout, fetcher)))
}
