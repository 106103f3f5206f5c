//! `Secrets`: set, remove and list an Action's secrets. Write-only: no
//! answer carries a value, only names, who set them and when.

use crate::rules::{check_secret_name, check_slug};
use crate::sealing::SecretPlace;
use crate::store::{NewSecret, StoredSecret};
use crate::{ControlPlane, Error};
use actions_proto::controlplane::v1::{self as pb, secrets_server::Secrets};
use actions_proto::sizes::{MAX_SECRET_VALUE_BYTES, MIN_SECRET_VALUE_BYTES};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The `Secrets` service.
pub struct SecretsApi {
    cp: Arc<ControlPlane>,
}

impl SecretsApi {
    /// Serves `cp`.
    pub fn new(cp: Arc<ControlPlane>) -> Self {
        Self { cp }
    }
}

fn info(secret: &StoredSecret) -> pb::SecretInfo {
    pb::SecretInfo {
        name: secret.name.clone(),
        description: String::new(),
        declared: false,
        set: true,
        set_by: secret.set_by.clone(),
        set_at_ms: secret.set_at_ms as u64,
    }
}

#[tonic::async_trait]
impl Secrets for SecretsApi {
    async fn set_secret(
        &self,
        request: Request<pb::SetSecretRequest>,
    ) -> Result<Response<pb::SecretInfo>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        check_slug("action_slug", &r.action_slug)?;
        check_secret_name("name", &r.name)?;
        if r.value.is_empty() {
            return Err(Error::Invalid(format!(
                "value of secret {} is empty; to remove it, use RemoveSecret",
                r.name
            ))
            .into());
        }
        if r.value.len() < MIN_SECRET_VALUE_BYTES {
            return Err(Error::Invalid(format!(
                "value of secret {} is {} bytes; a secret takes at least \
                 {MIN_SECRET_VALUE_BYTES}, as shorter values are not redacted from run output",
                r.name,
                r.value.len()
            ))
            .into());
        }
        if r.value.len() > MAX_SECRET_VALUE_BYTES {
            return Err(Error::Invalid(format!(
                "value of secret {} is {} bytes, over the limit of {MAX_SECRET_VALUE_BYTES}",
                r.name,
                r.value.len()
            ))
            .into());
        }
        let place = SecretPlace {
            tenant: &caller.tenant,
            slug: &r.action_slug,
            name: &r.name,
        };
        let sealed = self.cp.sealing()?.seal(place, r.value.as_bytes())?;
        let stored = self
            .cp
            .store
            .set_secret(
                &caller.tenant,
                NewSecret {
                    slug: &r.action_slug,
                    name: &r.name,
                    sealed,
                    value_bytes: r.value.len(),
                },
                &caller.actor,
            )
            .await?;
        let mut answer = info(&stored);
        if let Some(declared) = self
            .declarations(&caller.tenant, &r.action_slug)
            .await?
            .into_iter()
            .find(|d| d.name == r.name)
        {
            answer.declared = true;
            answer.description = declared.description;
        }
        Ok(Response::new(answer))
    }

    async fn remove_secret(
        &self,
        request: Request<pb::RemoveSecretRequest>,
    ) -> Result<Response<pb::RemoveSecretResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        check_slug("action_slug", &r.action_slug)?;
        check_secret_name("name", &r.name)?;
        self.cp
            .store
            .remove_secret(&caller.tenant, &r.action_slug, &r.name, &caller.actor)
            .await?;
        Ok(Response::new(pb::RemoveSecretResponse {}))
    }

    async fn list_secrets(
        &self,
        request: Request<pb::ListSecretsRequest>,
    ) -> Result<Response<pb::ListSecretsResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        check_slug("action_slug", &r.action_slug)?;
        if self
            .cp
            .store
            .action(&caller.tenant, &r.action_slug)
            .await?
            .is_none()
        {
            return Err(Error::NotFound(format!("action {:?}", r.action_slug)).into());
        }
        let declared = self.declarations(&caller.tenant, &r.action_slug).await?;
        let set = self
            .cp
            .store
            .secrets_of(&caller.tenant, &r.action_slug)
            .await?;
        let mut secrets: Vec<pb::SecretInfo> = set.iter().map(info).collect();
        for declaration in declared {
            match secrets.iter_mut().find(|s| s.name == declaration.name) {
                Some(found) => {
                    found.declared = true;
                    found.description = declaration.description;
                }
                None => secrets.push(pb::SecretInfo {
                    name: declaration.name,
                    description: declaration.description,
                    declared: true,
                    ..pb::SecretInfo::default()
                }),
            }
        }
        secrets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Response::new(pb::ListSecretsResponse { secrets }))
    }
}

impl SecretsApi {
    /// What the Action's latest version declares (nothing for an Action
    /// with no version).
    async fn declarations(
        &self,
        tenant: &str,
        slug: &str,
    ) -> Result<Vec<actions_proto::manifest::SecretDeclaration>, Error> {
        Ok(self
            .cp
            .store
            .versions(tenant, slug, 0, 1)
            .await?
            .into_iter()
            .next()
            .map(|v| v.secret_declarations())
            .unwrap_or_default())
    }
}
