//! `Tenants`: the operator's service.

use super::convert;
use crate::auth::{new_id, new_secret, secret_sha256};
use crate::rules::check_slug;
use crate::store::RUNNER_TOKEN_PREFIX;
use crate::{ControlPlane, Error};
use actions_proto::controlplane::v1::{self as pb, tenants_server::Tenants};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// Recorded as the actor of the operator's changes.
pub const OPERATOR: &str = "operator";

/// The `Tenants` service.
pub struct TenantsApi {
    cp: Arc<ControlPlane>,
}

impl TenantsApi {
    /// Serves `cp`.
    pub fn new(cp: Arc<ControlPlane>) -> Self {
        Self { cp }
    }
}

#[tonic::async_trait]
impl Tenants for TenantsApi {
    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        self.cp.secrets.operator(request.metadata())?;
        let r = request.into_inner();
        check_slug("id", &r.id)?;
        let name = if r.name.trim().is_empty() {
            r.id.clone()
        } else {
            r.name
        };
        let tenant = self.cp.store.create_tenant(&r.id, &name, OPERATOR).await?;
        Ok(Response::new(convert::tenant(tenant)))
    }

    async fn list_tenants(
        &self,
        request: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        self.cp.secrets.operator(request.metadata())?;
        let r = request.into_inner();
        let size = convert::page_size(r.page_size);
        let found = self.cp.store.tenants(&r.page_token, size + 1).await?;
        let more = found.len() > size as usize;
        let tenants: Vec<pb::Tenant> = found
            .into_iter()
            .take(size as usize)
            .map(convert::tenant)
            .collect();
        let next_page_token = if more {
            tenants.last().map(|t| t.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListTenantsResponse {
            tenants,
            next_page_token,
        }))
    }

    async fn create_token(
        &self,
        request: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        self.cp.secrets.operator(request.metadata())?;
        let r = request.into_inner();
        if r.name.trim().is_empty() {
            return Err(Error::Invalid("name is empty: say what the token is for".into()).into());
        }
        let secret = new_secret()?;
        let token = self
            .cp
            .store
            .create_token(
                &new_id("tok")?,
                &r.tenant,
                r.name.trim(),
                &secret_sha256(&secret),
                OPERATOR,
            )
            .await?;
        Ok(Response::new(pb::CreateTokenResponse {
            token: Some(convert::token(token)),
            secret,
        }))
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        self.cp.secrets.operator(request.metadata())?;
        let tenant = request.into_inner().tenant;
        if !self.cp.store.tenant_exists(&tenant).await? {
            return Err(Error::NotFound(format!("tenant {tenant:?}")).into());
        }
        let tokens = self.cp.store.tokens(&tenant).await?;
        Ok(Response::new(pb::ListTokensResponse {
            tokens: tokens.into_iter().map(convert::token).collect(),
        }))
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::TokenInfo>, Status> {
        self.cp.secrets.operator(request.metadata())?;
        let id = request.into_inner().id;
        let token = self.cp.store.revoke_token(&id, OPERATOR).await?;
        self.cp.announce_revoked(&token.id);
        Ok(Response::new(convert::token(token)))
    }

    async fn create_runner_token(
        &self,
        request: Request<pb::CreateRunnerTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        self.cp.secrets.operator(request.metadata())?;
        let name = request.into_inner().name;
        if name.trim().is_empty() {
            return Err(
                Error::Invalid("name is empty: say which runners the token is for".into()).into(),
            );
        }
        let secret = new_secret()?;
        let id = new_id(RUNNER_TOKEN_PREFIX.trim_end_matches('_'))?;
        let token = self
            .cp
            .store
            .create_runner_token(&id, name.trim(), &secret_sha256(&secret))
            .await?;
        tracing::info!(token = %token.id, name = %token.name, "runner token created");
        Ok(Response::new(pb::CreateTokenResponse {
            token: Some(convert::token(token)),
            secret,
        }))
    }

    async fn list_runner_tokens(
        &self,
        request: Request<pb::ListRunnerTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        self.cp.secrets.operator(request.metadata())?;
        let tokens = self.cp.store.runner_tokens().await?;
        Ok(Response::new(pb::ListTokensResponse {
            tokens: tokens.into_iter().map(convert::token).collect(),
        }))
    }
}
