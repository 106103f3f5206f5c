//! Actions' secret values in clear, for the only two places that may see
//! them: the flows sent to runners and the test runs sent to the test
//! runner. Everything else (the API, the audit trail, the logs) sees names.

use crate::sealing::{SealingKeys, SecretPlace};
use crate::store::{Store, StoredSecret};
use crate::{ControlPlane, Error};
use std::collections::{BTreeMap, HashMap, HashSet};

/// One Action's secret values, by name.
pub type SecretValues = BTreeMap<String, String>;

/// A tenant's secret values, by Action slug, and the Actions with a
/// secret that would not open: those must not run (see
/// `api::convert::runner_binding`).
#[derive(Debug, Default)]
pub struct TenantSecretValues {
    values: HashMap<String, SecretValues>,
    unopened: HashSet<String>,
}

impl TenantSecretValues {
    /// The values of an Action's secrets.
    pub fn of(&self, slug: &str) -> Option<&SecretValues> {
        self.values.get(slug)
    }

    /// Whether a secret of the Action did not open: it would run without it.
    pub fn unopened(&self, slug: &str) -> bool {
        self.unopened.contains(slug)
    }
}

/// Secrets resealed per batch by [`reseal_secrets`].
const RESEAL_BATCH: u32 = 200;

/// What [`reseal_secrets`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    /// Secrets whose data key is now sealed under the current key.
    pub resealed: u64,
    /// Secrets whose data key did not open (altered rows), left as they were.
    pub failed: u64,
}

impl ControlPlane {
    /// Takes the operator's keys for secrets (`None`: none was given; then
    /// setting a secret is refused). Refuses to start when the database
    /// holds secrets sealed under a key that is not among them, or when
    /// control planes were given keys before and these share none of them
    /// (a wrong key, found before any secret is sealed with it), naming the
    /// key ids. Records the ids of the keys given.
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
        let seen = self.store.secrets_keys_seen().await?;
        match &keys {
            None if !seen.is_empty() => {
                return Err(Error::Config(format!(
                    "control planes of this database were given secrets keys ({}); give one \
                     as secrets_key, or every runner syncing here runs without secrets",
                    seen.join(", ")
                )));
            }
            None => {}
            Some(keys) => {
                if !seen.is_empty() && !seen.iter().any(|id| keys.knows(id)) {
                    return Err(Error::Config(format!(
                        "secrets_key {} (and the previous keys given) is none of the keys \
                         control planes of this database were given ({}); a new key joins as \
                         one of previous_secrets_keys first (README, \"Secrets\")",
                        keys.current_id(),
                        seen.join(", ")
                    )));
                }
                self.store.see_secrets_keys(&keys.ids()).await?;
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
        let mut by_tenant: HashMap<String, Vec<&StoredSecret>> = HashMap::new();
        for (tenant, secret) in &stored {
            by_tenant.entry(tenant.clone()).or_default().push(secret);
        }
        Ok(by_tenant
            .into_iter()
            .map(|(tenant, secrets)| {
                let opened = self.opened(secrets.into_iter().map(|s| (tenant.as_str(), s)));
                (tenant, opened)
            })
            .collect())
    }

    /// One Action's secret values; an error when one does not open (a test
    /// run then says so rather than run without it).
    pub async fn action_secret_values(
        &self,
        tenant: &str,
        slug: &str,
    ) -> Result<SecretValues, Error> {
        let stored = self.store.secrets_of(tenant, slug).await?;
        let mut opened = self.opened(stored.iter().map(|s| (tenant, s)));
        if opened.unopened(slug) {
            return Err(Error::Internal(format!(
                "a secret of action {slug:?} of tenant {tenant:?} does not open"
            )));
        }
        Ok(opened.values.remove(slug).unwrap_or_default())
    }

    /// The values of `stored`, by Action. One that does not open (no key,
    /// or an altered row) is logged and marks its Action, whose bindings
    /// then fail closed; no other Action or tenant waits on it.
    fn opened<'a>(
        &self,
        stored: impl Iterator<Item = (&'a str, &'a StoredSecret)>,
    ) -> TenantSecretValues {
        let mut opened = TenantSecretValues::default();
        for (tenant, secret) in stored {
            let place = SecretPlace {
                tenant,
                slug: &secret.slug,
                name: &secret.name,
            };
            let value = self
                .sealing()
                .and_then(|keys| keys.open(place, &secret.sealed))
                .and_then(|bytes| {
                    String::from_utf8(bytes)
                        .map_err(|_| Error::Internal("a secret value is not UTF-8".into()))
                });
            match value {
                Ok(value) => {
                    opened
                        .values
                        .entry(secret.slug.clone())
                        .or_default()
                        .insert(secret.name.clone(), value);
                }
                Err(error) => {
                    tracing::error!(
                        %tenant, action = %secret.slug, secret = %secret.name, %error,
                        "a secret does not open; its Action's bindings fail closed"
                    );
                    opened.unopened.insert(secret.slug.clone());
                }
            }
        }
        opened
    }
}

/// Reseals, under the current key, every secret sealed under another one:
/// the step of a key rotation the operator runs once every replica has the
/// new key (`actions-control-plane reseal-secrets`). Only data keys are
/// resealed; values are not touched. Idempotent; one pass over the rows in
/// order, so it ends whatever it meets; a row whose data key does not open
/// is counted and left as it was.
pub async fn reseal_secrets(store: &Store, keys: &SealingKeys) -> Result<Resealed, Error> {
    let mut done = Resealed::default();
    let mut after = (String::new(), String::new(), String::new());
    loop {
        let batch = store
            .secrets_not_under(
                keys.current_id(),
                (&after.0, &after.1, &after.2),
                RESEAL_BATCH,
            )
            .await?;
        let Some((tenant, last)) = batch.last() else {
            return Ok(done);
        };
        after = (tenant.clone(), last.slug.clone(), last.name.clone());
        for (tenant, secret) in &batch {
            match keys.reseal(&secret.sealed) {
                Ok(Some(resealed)) => {
                    if store.reseal_secret(tenant, secret, &resealed).await? {
                        done.resealed += 1;
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(
                        %tenant, action = %secret.slug, secret = %secret.name, %error,
                        "a secret's data key does not open; left as it was"
                    );
                    done.failed += 1;
                }
            }
        }
    }
}
