//! Who is calling: the operator (tenants and tokens), a tenant's token
//! (everything else), or a runner (RunnerSync). Tenant tokens are random
//! 256-bit secrets; only their SHA-256 is stored.

use crate::Error;
use crate::store::Store;
use actions_proto::bearer::{presented as bearer, same_secret};
use sha2::{Digest, Sha256};
use tonic::metadata::MetadataMap;

/// A caller with a tenant token.
#[derive(Debug, Clone)]
pub struct TenantCaller {
    /// The tenant the token belongs to: the only one it sees.
    pub tenant: String,
    /// The token's name, recorded as the actor of every change.
    pub actor: String,
    /// The token's id: streams it opened end when it is revoked.
    pub token_id: String,
}

/// A runner, by the token it presented.
#[derive(Debug, Clone)]
pub struct RunnerCaller {
    /// Its runner token's id; `None` for the shared sync token, which is
    /// revoked only by changing it.
    pub token_id: Option<String>,
}

/// The operator's and the runners' shared secrets.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Empty: refused at start-up unless `insecure_no_auth`; then tenants
    /// cannot be managed over the API.
    pub operator_token: String,
    /// Empty: refused at start-up unless `insecure_no_auth`; then any runner
    /// may connect.
    pub sync_token: String,
    /// Serve without the tokens left empty: local development only, refused
    /// anywhere but loopback ([`Secrets::check_serving`]).
    pub insecure_no_auth: bool,
}

/// A fresh token secret.
pub fn new_secret() -> Result<String, Error> {
    Ok(format!("act_{}", random_hex(32)?))
}

/// A fresh public id with `prefix`.
pub fn new_id(prefix: &str) -> Result<String, Error> {
    Ok(format!("{prefix}_{}", random_hex(8)?))
}

fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|e| Error::Internal(format!("no randomness for a token: {e}")))?;
    Ok(hex::encode(buffer))
}

/// The stored form of a secret.
pub fn secret_sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Secrets {
    /// Whether a control plane with these secrets may serve on `address`:
    /// an empty token is refused unless `insecure_no_auth`, which is refused
    /// anywhere but loopback.
    pub fn check_serving(&self, address: std::net::SocketAddr) -> Result<(), Error> {
        let mut missing = Vec::new();
        if self.operator_token.is_empty() {
            missing.push("operator_token");
        }
        if self.sync_token.is_empty() {
            missing.push("sync_token");
        }
        actions_proto::bearer::check_serving(&missing, self.insecure_no_auth, address)?;
        Ok(())
    }

    /// The call must carry the operator token.
    pub fn operator(&self, metadata: &MetadataMap) -> Result<(), Error> {
        if self.operator_token.is_empty() {
            return Err(Error::PermissionDenied(
                "tenant management is off: the control plane has no operator_token".into(),
            ));
        }
        match bearer(metadata) {
            None => Err(Error::Unauthenticated(
                "missing `authorization: Bearer <operator token>`".into(),
            )),
            Some(token) if same_secret(token, &self.operator_token) => Ok(()),
            Some(_) => Err(Error::PermissionDenied(
                "managing tenants takes the operator token".into(),
            )),
        }
    }

    /// The call must come from a runner: the shared sync token, or a
    /// runner token that is not revoked.
    pub async fn runner(
        &self,
        store: &Store,
        metadata: &MetadataMap,
    ) -> Result<RunnerCaller, Error> {
        // `check_serving` only lets an empty sync token through on loopback.
        if self.sync_token.is_empty() && self.insecure_no_auth {
            return Ok(RunnerCaller { token_id: None });
        }
        let refused = || {
            Error::Unauthenticated(
                "RunnerSync takes `authorization: Bearer <sync token or runner token>`".into(),
            )
        };
        let token = bearer(metadata).ok_or_else(refused)?;
        if !self.sync_token.is_empty() && same_secret(token, &self.sync_token) {
            return Ok(RunnerCaller { token_id: None });
        }
        let stored = store
            .runner_token_by_secret(&secret_sha256(token))
            .await?
            .ok_or_else(refused)?;
        Ok(RunnerCaller {
            token_id: Some(stored.id),
        })
    }

    /// The tenant whose token the call carries.
    pub async fn tenant(
        &self,
        store: &Store,
        metadata: &MetadataMap,
    ) -> Result<TenantCaller, Error> {
        let token = bearer(metadata).ok_or_else(|| {
            Error::Unauthenticated("missing `authorization: Bearer <tenant token>`".into())
        })?;
        if !self.operator_token.is_empty() && same_secret(token, &self.operator_token) {
            return Err(Error::PermissionDenied(
                "the operator token manages tenants; call this with a tenant token".into(),
            ));
        }
        let stored = store
            .token_by_secret(&secret_sha256(token))
            .await?
            .ok_or_else(|| Error::Unauthenticated("unknown or revoked token".into()))?;
        Ok(TenantCaller {
            tenant: stored.tenant_id,
            actor: stored.name,
            token_id: stored.id,
        })
    }
}
