//! Actions' secret values in clear, for the only two places that may see
//! them: the flows sent to runners and the test runs sent to the test
//! runner. Everything else (the API, the audit trail, the logs) sees names.

use crate::sealing::{SealingKeys, SecretPlace};
use crate::store::StoredSecret;
use crate::{ControlPlane, Error};
use std::collections::{BTreeMap, HashMap};

/// One Action's secret values, by name.
pub type SecretValues = BTreeMap<String, String>;

/// A tenant's secret values, by Action slug.
pub type TenantSecretValues = HashMap<String, SecretValues>;

/// Secrets resealed per batch when the operator's key has changed.
const RESEAL_BATCH: u32 = 200;

impl ControlPlane {
    /// Takes the operator's keys for secrets (`None`: none was given; then
    /// setting a secret is refused). Refuses to start when the database
    /// holds secrets sealed under a key that is not among them, naming the
    /// key ids; then reseals, under the current key, every secret still
    /// sealed under a previous one (a rotation: idempotent, and resumed by
    /// the next start if it is cut short).
    pub async fn open_secrets(mut self, keys: Option<SealingKeys>) -> Result<Self, Error> {
        let stored = self.store.secret_key_ids().await?;
        let unknown: Vec<String> = stored
            .iter()
            .filter(|(id, _)| keys.as_ref().is_none_or(|k| !k.knows(id)))
            .map(|(id, count)| format!("{id} ({count} secrets)"))
            .collect();
        if !unknown.is_empty() {
            return Err(Error::Config(format!(
                "the database holds secrets sealed under keys that were not given: {}; \
                 give the key they were sealed with as secrets_key (or, while rotating, \
                 among previous_secrets_keys)",
                unknown.join(", ")
            )));
        }
        if let Some(keys) = &keys {
            let resealed = reseal_all(&self.store, keys).await?;
            if resealed > 0 {
                tracing::info!(
                    resealed,
                    key_id = keys.current_id(),
                    "secrets resealed under the current key"
                );
            }
        }
        self.sealing = keys.map(std::sync::Arc::new);
        Ok(self)
    }

    /// The keys that seal secrets, or why secrets cannot be set.
    pub fn sealing(&self) -> Result<&SealingKeys, Error> {
        self.sealing.as_deref().ok_or_else(|| {
            Error::FailedPrecondition(
                "secrets are off: the operator has not given the control plane a secrets_key"
                    .into(),
            )
        })
    }

    /// A tenant's secret values, by Action.
    pub async fn tenant_secret_values(&self, tenant: &str) -> Result<TenantSecretValues, Error> {
        let stored = self.store.tenant_secrets(tenant).await?;
        Ok(self.opened(stored.iter().map(|s| (tenant, s))))
    }

    /// Every tenant's secret values, by tenant and Action.
    pub async fn every_secret_value(&self) -> Result<HashMap<String, TenantSecretValues>, Error> {
        let stored = self.store.every_secret().await?;
        let mut by_tenant: HashMap<String, TenantSecretValues> = HashMap::new();
        for (tenant, secret) in &stored {
            let opened = self.opened(std::iter::once((tenant.as_str(), secret)));
            let values = by_tenant.entry(tenant.clone()).or_default();
            for (slug, secrets) in opened {
                values.entry(slug).or_default().extend(secrets);
            }
        }
        Ok(by_tenant)
    }

    /// One Action's secret values.
    pub async fn action_secret_values(
        &self,
        tenant: &str,
        slug: &str,
    ) -> Result<SecretValues, Error> {
        let stored = self.store.secrets_of(tenant, slug).await?;
        Ok(self
            .opened(stored.iter().map(|s| (tenant, s)))
            .remove(slug)
            .unwrap_or_default())
    }

    /// The values of `stored`, by Action. One that does not open (no key,
    /// or an altered row) is left out and logged: its Action runs without
    /// it, as with a secret never set, and no other tenant's flows wait.
    fn opened<'a>(
        &self,
        stored: impl Iterator<Item = (&'a str, &'a StoredSecret)>,
    ) -> TenantSecretValues {
        let mut values = TenantSecretValues::new();
        for (tenant, secret) in stored {
            let place = SecretPlace {
                tenant,
                slug: &secret.slug,
                name: &secret.name,
            };
            let opened = self
                .sealing()
                .and_then(|keys| keys.open(place, &secret.sealed))
                .and_then(|bytes| {
                    String::from_utf8(bytes)
                        .map_err(|_| Error::Internal("a secret value is not UTF-8".into()))
                });
            match opened {
                Ok(value) => {
                    values
                        .entry(secret.slug.clone())
                        .or_default()
                        .insert(secret.name.clone(), value);
                }
                Err(error) => tracing::error!(
                    %tenant, action = %secret.slug, secret = %secret.name, %error,
                    "a secret does not open; its Action runs without it"
                ),
            }
        }
        values
    }
}

/// Reseals every secret not sealed under the current key, in batches;
/// how many were resealed.
async fn reseal_all(store: &crate::store::Store, keys: &SealingKeys) -> Result<u64, Error> {
    let mut resealed = 0;
    loop {
        let batch = store
            .secrets_not_under(keys.current_id(), RESEAL_BATCH)
            .await?;
        if batch.is_empty() {
            return Ok(resealed);
        }
        let mut progress = false;
        for (tenant, secret) in &batch {
            if let Some(after) = keys.reseal(&secret.sealed)? {
                // Another replica may have resealed it first: then it is
                // under the current key anyway, which is progress too.
                store.reseal_secret(tenant, secret, &after).await?;
                progress = true;
                resealed += 1;
            }
        }
        if !progress {
            return Ok(resealed);
        }
    }
}
