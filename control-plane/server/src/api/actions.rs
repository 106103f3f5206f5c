//! `Actions`: create, save (compile), upload packages, read, publish, delete.

use super::convert;
use crate::auth::TenantCaller;
use crate::rules::{
    check_entry_point, check_publish, check_secret_declarations, check_slug, check_trigger,
};
use crate::schema::ConfigSchema;
use crate::store::NewVersion;
use crate::{ControlPlane, Error, package};
use actions_compiler::SourcePackage;
use actions_proto::controlplane::v1::{self as pb, actions_server::Actions};
use actions_proto::manifest::SecretDeclaration;
use std::collections::BTreeMap;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The `Actions` service.
pub struct ActionsApi {
    cp: Arc<ControlPlane>,
}

impl ActionsApi {
    /// Serves `cp`.
    pub fn new(cp: Arc<ControlPlane>) -> Self {
        Self { cp }
    }
}

/// Trigger names from the catalog, each once.
fn check_triggers(triggers: &[String]) -> Result<Vec<String>, Error> {
    if triggers.is_empty() {
        return Err(Error::Invalid(
            "triggers is empty: name at least one trigger the Action is made for".into(),
        ));
    }
    let mut checked: Vec<String> = Vec::new();
    for name in triggers {
        let trigger = check_trigger("triggers", name)?;
        if !checked.iter().any(|t| t == trigger.as_str()) {
            checked.push(trigger.as_str().to_owned());
        }
    }
    Ok(checked)
}

fn check_version(text: &str) -> Result<Option<semver::Version>, Error> {
    if text.is_empty() {
        return Ok(None);
    }
    semver::Version::parse(text)
        .map(Some)
        .map_err(|e| Error::Invalid(format!("version {text:?} is not semver (like 1.4.2): {e}")))
}

pub(super) fn source_package(source: Option<pb::Source>) -> Result<SourcePackage, Error> {
    let source = source.ok_or_else(|| Error::Invalid("source is missing".into()))?;
    if source.files.is_empty() {
        return Err(Error::Invalid("source has no files".into()));
    }
    let files: BTreeMap<String, Vec<u8>> = source
        .files
        .into_iter()
        .map(|(path, text)| (path, text.into_bytes()))
        .collect();
    let package = if source.entry.is_empty() {
        SourcePackage::with_default_entry(files)?
    } else {
        SourcePackage::new(files, &source.entry)?
    };
    Ok(package)
}

fn stored_source(package: &SourcePackage) -> String {
    let files: BTreeMap<&str, String> = package
        .files()
        .map(|(path, bytes)| (path, String::from_utf8_lossy(bytes).into_owned()))
        .collect();
    serde_json::json!({ "entry": package.entry(), "files": files }).to_string()
}

/// What a save is made of, before it is compiled.
struct Save {
    create: Option<String>,
    slug: String,
    version: String,
    triggers: Vec<String>,
    config_schema: String,
    /// `None`: those of the latest version (none for a new Action).
    secrets: Option<Vec<SecretDeclaration>>,
    source: SourcePackage,
}

impl ActionsApi {
    async fn save(
        &self,
        caller: &TenantCaller,
        save: Save,
    ) -> Result<pb::SaveVersionResponse, Error> {
        check_slug("slug", &save.slug)?;
        let requested = check_version(&save.version)?;
        let (triggers, config_schema, secrets) = if save.create.is_some() {
            (
                save.triggers,
                save.config_schema,
                save.secrets.unwrap_or_default(),
            )
        } else {
            // A new version inherits what it does not say from the latest one.
            let latest = self
                .cp
                .store
                .versions(&caller.tenant, &save.slug, 0, 1)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| Error::NotFound(format!("action {:?}", save.slug)))?;
            let triggers = if save.triggers.is_empty() {
                latest.trigger_names()
            } else {
                save.triggers
            };
            let schema = if save.config_schema.trim().is_empty() {
                latest.config_schema.clone()
            } else {
                save.config_schema
            };
            let secrets = save.secrets.unwrap_or_else(|| latest.secret_declarations());
            (triggers, schema, secrets)
        };
        let triggers = check_triggers(&triggers)?;
        let (config_schema, _) = ConfigSchema::parse(&config_schema)?;
        let source = stored_source(&save.source);
        let compiled = self.cp.compile(&caller.tenant, save.source).await?;
        check_entry_point(&triggers, &compiled.entry_point)?;
        let new = NewVersion {
            slug: save.slug.clone(),
            requested,
            triggers,
            config_schema,
            source,
            javascript: compiled.javascript,
            module_sha256: compiled.sha256,
            wasm: compiled.wasm,
            plugin_id: compiled.plugin_id,
            secrets,
        };
        let (action, version, created) = self
            .cp
            .store
            .save_version(&caller.tenant, save.create.as_deref(), new, &caller.actor)
            .await?;
        let action = self.describe(&caller.tenant, &action.slug).await?;
        Ok(pb::SaveVersionResponse {
            action: Some(action),
            version: Some(convert::version(version)),
            created,
        })
    }

    /// An Action as the API shows it (one query).
    async fn describe(&self, tenant: &str, slug: &str) -> Result<pb::Action, Error> {
        let summary = self
            .cp
            .store
            .action_summary(tenant, slug)
            .await?
            .ok_or_else(|| Error::NotFound(format!("action {slug:?}")))?;
        Ok(convert::action(summary))
    }
}

#[tonic::async_trait]
impl Actions for ActionsApi {
    async fn create_action(
        &self,
        request: Request<pb::CreateActionRequest>,
    ) -> Result<Response<pb::SaveVersionResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        check_slug("slug", &r.slug)?;
        let name = if r.name.trim().is_empty() {
            r.slug.clone()
        } else {
            r.name.trim().to_owned()
        };
        let save = Save {
            create: Some(name),
            slug: r.slug,
            version: r.version,
            triggers: r.triggers,
            config_schema: r.config_schema_json,
            secrets: Some(check_secret_declarations("secrets", r.secrets)?),
            source: source_package(r.source)?,
        };
        Ok(Response::new(self.save(&caller, save).await?))
    }

    async fn save_version(
        &self,
        request: Request<pb::SaveVersionRequest>,
    ) -> Result<Response<pb::SaveVersionResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        check_slug("slug", &r.slug)?;
        if self
            .cp
            .store
            .action(&caller.tenant, &r.slug)
            .await?
            .is_none()
        {
            return Err(Error::NotFound(format!("action {:?}", r.slug)).into());
        }
        let save = Save {
            create: None,
            slug: r.slug,
            version: r.version,
            triggers: r.triggers,
            config_schema: r.config_schema_json,
            secrets: r
                .secrets
                .map(|s| check_secret_declarations("secrets.items", s.items))
                .transpose()?,
            source: source_package(r.source)?,
        };
        Ok(Response::new(self.save(&caller, save).await?))
    }

    async fn upload_package(
        &self,
        request: Request<pb::UploadPackageRequest>,
    ) -> Result<Response<pb::SaveVersionResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let bytes = request.into_inner().package_tar_gz;
        let package = tokio::task::spawn_blocking(move || package::unpack(&bytes))
            .await
            .map_err(|e| Error::Internal(format!("unpacking: {e}")))??;
        let manifest = package.manifest;
        let exists = self
            .cp
            .store
            .action(&caller.tenant, &manifest.slug)
            .await?
            .is_some();
        let schema = match &manifest.config_schema {
            Some(value) => {
                // Checked here as well as in `save` so that the error names
                // the manifest's field rather than the API's.
                ConfigSchema::from_value(value, "package: action.json: config_schema")?;
                value.to_string()
            }
            None => String::new(),
        };
        let save = Save {
            create: (!exists).then(|| manifest.name.clone()),
            slug: manifest.slug,
            version: manifest.version.map(|v| v.to_string()).unwrap_or_default(),
            triggers: manifest
                .triggers
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            config_schema: schema,
            // A package says exactly which secrets it reads.
            secrets: Some(manifest.secrets),
            source: package.source,
        };
        Ok(Response::new(self.save(&caller, save).await?))
    }

    async fn get_action(
        &self,
        request: Request<pb::GetActionRequest>,
    ) -> Result<Response<pb::Action>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let slug = request.into_inner().slug;
        Ok(Response::new(self.describe(&caller.tenant, &slug).await?))
    }

    async fn list_actions(
        &self,
        request: Request<pb::ListActionsRequest>,
    ) -> Result<Response<pb::ListActionsResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        let size = convert::page_size(r.page_size);
        // One query for the page, whatever its size.
        let found = self
            .cp
            .store
            .action_summaries(&caller.tenant, &r.page_token, size + 1)
            .await?;
        let more = found.len() > size as usize;
        let actions: Vec<pb::Action> = found
            .into_iter()
            .take(size as usize)
            .map(convert::action)
            .collect();
        let next_page_token = if more {
            actions.last().map(|a| a.slug.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListActionsResponse {
            actions,
            next_page_token,
        }))
    }

    async fn list_versions(
        &self,
        request: Request<pb::ListVersionsRequest>,
    ) -> Result<Response<pb::ListVersionsResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        if self
            .cp
            .store
            .action(&caller.tenant, &r.slug)
            .await?
            .is_none()
        {
            return Err(Error::NotFound(format!("action {:?}", r.slug)).into());
        }
        let size = convert::page_size(r.page_size);
        let offset = convert::page_number(&r.page_token)? as u32;
        let found = self
            .cp
            .store
            .versions(&caller.tenant, &r.slug, offset, size + 1)
            .await?;
        let more = found.len() > size as usize;
        Ok(Response::new(pb::ListVersionsResponse {
            versions: found
                .into_iter()
                .take(size as usize)
                .map(convert::version)
                .collect(),
            next_page_token: if more {
                (offset + size).to_string()
            } else {
                String::new()
            },
        }))
    }

    async fn get_version_source(
        &self,
        request: Request<pb::GetVersionSourceRequest>,
    ) -> Result<Response<pb::VersionSource>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        let store = &self.cp.store;
        let not_found =
            || Error::NotFound(format!("version {:?} of action {:?}", r.version, r.slug));
        let version = store
            .version(&caller.tenant, &r.slug, &r.version)
            .await?
            .ok_or_else(not_found)?;
        let (source, javascript) = store
            .version_source(&caller.tenant, &r.slug, &r.version)
            .await?
            .ok_or_else(not_found)?;
        #[derive(serde::Deserialize)]
        struct Stored {
            entry: String,
            files: std::collections::HashMap<String, String>,
        }
        let stored: Stored = serde_json::from_str(&source)
            .map_err(|e| Error::Internal(format!("a stored source: {e}")))?;
        Ok(Response::new(pb::VersionSource {
            version: Some(convert::version(version)),
            source: Some(pb::Source {
                files: stored.files,
                entry: stored.entry,
            }),
            javascript,
        }))
    }

    async fn publish_version(
        &self,
        request: Request<pb::PublishVersionRequest>,
    ) -> Result<Response<pb::Version>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        let published = self
            .cp
            .store
            .publish(
                &caller.tenant,
                &r.slug,
                &r.version,
                &caller.actor,
                check_publish,
            )
            .await?;
        Ok(Response::new(convert::version(published)))
    }

    async fn delete_action(
        &self,
        request: Request<pb::DeleteActionRequest>,
    ) -> Result<Response<pb::DeleteActionResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let slug = request.into_inner().slug;
        let versions_deleted = self
            .cp
            .store
            .delete_action(&caller.tenant, &slug, &caller.actor)
            .await?;
        Ok(Response::new(pb::DeleteActionResponse { versions_deleted }))
    }
}
