//! The `authorization: Bearer <token>` header every Actions API takes:
//! how clients attach it and how servers read and compare it, in one place.

use std::net::SocketAddr;
use tonic::metadata::{Ascii, MetadataMap, MetadataValue};
use tonic::service::Interceptor;

/// The metadata key.
pub const AUTHORIZATION: &str = "authorization";

/// A token that cannot travel in a header (a control character, say).
#[derive(Debug, thiserror::Error)]
#[error("the token is not a valid header value (only visible ASCII may be sent)")]
pub struct InvalidToken;

/// The header value for `token`.
pub fn header_value(token: &str) -> Result<MetadataValue<Ascii>, InvalidToken> {
    format!("Bearer {token}").parse().map_err(|_| InvalidToken)
}

/// Adds the token to a request's metadata.
pub fn attach(metadata: &mut MetadataMap, token: &str) -> Result<(), InvalidToken> {
    metadata.insert(AUTHORIZATION, header_value(token)?);
    Ok(())
}

/// A request carrying `message` and the token.
pub fn request<T>(message: T, token: &str) -> Result<tonic::Request<T>, InvalidToken> {
    let mut request = tonic::Request::new(message);
    attach(request.metadata_mut(), token)?;
    Ok(request)
}

/// The token a call presents, if it presents a non-empty one.
pub fn presented(metadata: &MetadataMap) -> Option<&str> {
    metadata
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Whether two secrets are equal, in time that depends only on the
/// expected secret's length: neither where they differ nor how long the
/// presented one is shows.
pub fn same_secret(presented: &str, expected: &str) -> bool {
    let presented = presented.as_bytes();
    let length_differs = u8::from(presented.len() != expected.len());
    expected
        .bytes()
        .enumerate()
        .fold(length_differs, |acc, (i, b)| {
            acc | (b ^ presented.get(i).copied().unwrap_or(!b))
        })
        == 0
}

/// Why a service will not serve: it lacks tokens and was not told it may
/// go without, or it was told so but is not on loopback.
#[derive(Debug, thiserror::Error)]
pub enum ServingWithoutTokens {
    /// Tokens are missing (empty) and no insecure flag was given.
    #[error(
        "empty token settings: {}. An empty token is refused, never taken as \
         \"no authentication\": set them (for local development only, \
         --insecure-no-auth serves without them, on loopback)",
        .missing.join(", ")
    )]
    MissingTokens {
        /// The settings that are empty.
        missing: Vec<String>,
    },
    /// The insecure flag was given for an address that is not loopback.
    #[error(
        "insecure_no_auth (--insecure-no-auth) is only allowed on loopback, \
         and {address} is not: listen on 127.0.0.1 or [::1], or set the tokens"
    )]
    NotLoopback {
        /// Where the service would listen.
        address: SocketAddr,
    },
}

/// Whether a service listening on `address` may serve, its empty token
/// settings being `missing`: an empty token never means "no
/// authentication" unless the operator says so (`insecure_no_auth`), and
/// saying so is refused anywhere but loopback, tokens set or not.
pub fn check_serving(
    missing: &[&str],
    insecure_no_auth: bool,
    address: SocketAddr,
) -> Result<(), ServingWithoutTokens> {
    if insecure_no_auth && !address.ip().is_loopback() {
        return Err(ServingWithoutTokens::NotLoopback { address });
    }
    if !missing.is_empty() && !insecure_no_auth {
        return Err(ServingWithoutTokens::MissingTokens {
            missing: missing.iter().map(|m| (*m).to_owned()).collect(),
        });
    }
    Ok(())
}

/// A client interceptor that presents one token on every call (none at all
/// for an empty token, which no server accepts as a credential).
#[derive(Clone)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl BearerToken {
    /// Presents `token`.
    pub fn new(token: &str) -> Result<Self, InvalidToken> {
        if token.is_empty() {
            return Ok(Self(None));
        }
        header_value(token).map(|value| Self(Some(value)))
    }
}

impl Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert(AUTHORIZATION, value.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_through_the_header() {
        let request = request((), "tok_123").expect("a valid token");
        assert_eq!(presented(request.metadata()), Some("tok_123"));
        assert!(header_value("bad\ntoken").is_err());
        let mut metadata = MetadataMap::new();
        assert_eq!(presented(&metadata), None);
        metadata.insert(AUTHORIZATION, "Basic abc".parse().expect("ascii"));
        assert_eq!(presented(&metadata), None);
        metadata.insert(AUTHORIZATION, "Bearer ".parse().expect("ascii"));
        assert_eq!(presented(&metadata), None);
    }

    #[test]
    fn serving_without_tokens_takes_the_flag_and_loopback() {
        let loopback: SocketAddr = "127.0.0.1:1".parse().expect("address");
        let anywhere: SocketAddr = "0.0.0.0:1".parse().expect("address");
        assert!(check_serving(&[], false, anywhere).is_ok());
        assert!(matches!(
            check_serving(&["token"], false, loopback),
            Err(ServingWithoutTokens::MissingTokens { missing }) if missing == ["token"]
        ));
        assert!(check_serving(&["token"], true, loopback).is_ok());
        assert!(check_serving(&[], true, "[::1]:1".parse().expect("address")).is_ok());
        for missing in [&[][..], &["token"][..]] {
            assert!(matches!(
                check_serving(missing, true, anywhere),
                Err(ServingWithoutTokens::NotLoopback { .. })
            ));
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abcd", "abcd"));
        assert!(!same_secret("abcd", "abce"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "abcd"));
    }
}
