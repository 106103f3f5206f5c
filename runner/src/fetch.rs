//! The seam between `api.fetch` and the network.
//!
//! The sandbox owns the checks every fetch gets whatever the transport (the
//! trigger's rules, the per-run call count, request and response sizes, a
//! timeout capped by the run's remaining deadline); an [`HttpFetch`] owns
//! the transport and its address policy. A runner without one refuses every
//! fetch with a clear error.

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A request an Action made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchRequest {
    /// The URL as the Action wrote it.
    pub url: String,
    /// The method, upper-cased; `GET` when the Action gave none.
    #[serde(default = "default_method")]
    pub method: String,
    /// Header names and values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body, if any.
    #[serde(default)]
    pub body: Option<String>,
    /// The Action's own timeout, if it set one.
    #[serde(default)]
    pub timeout_ms: Option<f64>,
}

fn default_method() -> String {
    "GET".into()
}

/// A response to give back to the Action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    /// HTTP status.
    pub status: u16,
    /// Header names (lower-case) and values.
    pub headers: BTreeMap<String, String>,
    /// The body as text.
    pub body: String,
}

/// Why a fetch failed; the message reaches the Action as a thrown `Error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL, scheme or address is not allowed.
    #[error("api.fetch refused {url}: {reason}")]
    Refused {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The request failed on the way.
    #[error("api.fetch of {url} failed: {reason}")]
    Failed {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The response body was larger than the limit.
    #[error("api.fetch of {url}: the response is over the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
}

/// Performs fetches for Actions. Implementations must connect only to
/// addresses they checked, and stop reading at `max_response_bytes`.
pub trait HttpFetch: Send + Sync + 'static {
    /// Performs `request`, giving up after `timeout`.
    fn fetch(
        &self,
        request: FetchRequest,
        timeout: Duration,
        max_response_bytes: u64,
    ) -> BoxFuture<'static, Result<FetchResponse, FetchError>>;
}
