//! The demo tenant: the starters created, published and attached through the
//! management API, as a developer would with the CLI.

use crate::StandaloneError;
use actions_compiler::SourcePackage;
use actions_proto::controlplane::v1::{
    self as pb, actions_client::ActionsClient, flows_client::FlowsClient,
    tenants_client::TenantsClient,
};
use actions_proto::manifest::Manifest;
use std::path::Path;
use tonic::Request;

/// Each starter's folder, where it goes, and whether a failure of it lets
/// the flow carry on.
const ATTACHED: &[(&str, &str, bool)] = &[
    ("domain-allowlist", "login.pre-credential-check", false),
    ("custom-claim", "login.post-login", false),
    ("webhook-emit", "registration.post-create", true),
];

/// A call the control plane refused, with what was being done.
fn failed(doing: impl std::fmt::Display) -> impl FnOnce(tonic::Status) -> StandaloneError {
    move |status| {
        StandaloneError::Demo(format!(
            "{doing}: {:?}: {}",
            status.code(),
            status.message()
        ))
    }
}

/// Why the control plane could not be reached.
fn unreachable(control_plane: &str) -> impl FnOnce(tonic::transport::Error) -> StandaloneError {
    move |e| StandaloneError::Demo(format!("connecting to {control_plane}: {e}"))
}

fn with_token<T>(message: T, token: &str) -> Result<Request<T>, StandaloneError> {
    actions_proto::bearer::request(message, token)
        .map_err(|e| StandaloneError::Demo(format!("the demo token: {e}")))
}

/// Creates the `demo` tenant (when it is not there) and a token for it.
pub async fn create_tenant(
    control_plane: &str,
    operator_token: &str,
) -> Result<String, StandaloneError> {
    let mut tenants = TenantsClient::connect(control_plane.to_owned())
        .await
        .map_err(unreachable(control_plane))?;
    let created = tenants
        .create_tenant(with_token(
            pb::CreateTenantRequest {
                id: "demo".into(),
                name: "Demo".into(),
            },
            operator_token,
        )?)
        .await;
    match created {
        Ok(_) => {}
        Err(status) if status.code() == tonic::Code::AlreadyExists => {}
        Err(status) => return Err(failed("creating the demo tenant")(status)),
    }
    let token = tenants
        .create_token(with_token(
            pb::CreateTokenRequest {
                tenant: "demo".into(),
                name: "demo".into(),
            },
            operator_token,
        )?)
        .await
        .map_err(failed("creating the demo tenant's token"))?
        .into_inner();
    Ok(token.secret)
}

/// A starter's package, read as the CLI reads one: its checked manifest and
/// the modules the compiler would take from the folder.
fn read_starter(dir: &Path) -> Result<(Manifest, pb::Source), StandaloneError> {
    let manifest = Manifest::load(dir)?;
    let package = SourcePackage::load(dir)?;
    // The API carries sources as text; a file that is not UTF-8 is named
    // here rather than mangled.
    let files = package
        .files()
        .map(|(path, bytes)| {
            String::from_utf8(bytes.to_vec())
                .map(|text| (path.to_owned(), text))
                .map_err(|_| {
                    StandaloneError::Demo(format!("{}: {path} is not UTF-8", dir.display()))
                })
        })
        .collect::<Result<_, _>>()?;
    let source = pb::Source {
        files,
        entry: package.entry().to_owned(),
    };
    Ok((manifest, source))
}

/// Creates, publishes and attaches every starter the demo tenant lacks.
pub async fn load(
    control_plane: &str,
    token: &str,
    starters: &Path,
) -> Result<(), StandaloneError> {
    let mut actions = ActionsClient::connect(control_plane.to_owned())
        .await
        .map_err(unreachable(control_plane))?;
    let mut flows = FlowsClient::connect(control_plane.to_owned())
        .await
        .map_err(unreachable(control_plane))?;
    let current = flows
        .list_flows(with_token(pb::ListFlowsRequest {}, token)?)
        .await
        .map_err(failed("listing the demo tenant's flows"))?
        .into_inner();
    let bound: Vec<String> = current
        .flows
        .iter()
        .flat_map(|f| &f.slots)
        .flat_map(|s| &s.bindings)
        .map(|b| b.action_slug.clone())
        .collect();
    for (starter, trigger, fail_open) in ATTACHED {
        let dir = starters.join(starter);
        let (manifest, source) = read_starter(&dir)?;
        let slug = manifest.slug.as_str();
        if bound.iter().any(|b| b == slug) {
            continue;
        }
        let exists = actions
            .get_action(with_token(
                pb::GetActionRequest { slug: slug.into() },
                token,
            )?)
            .await
            .is_ok();
        let version = if exists {
            let listed = actions
                .list_versions(with_token(
                    pb::ListVersionsRequest {
                        slug: slug.into(),
                        page_size: 1,
                        page_token: String::new(),
                    },
                    token,
                )?)
                .await
                .map_err(failed(format!("listing the versions of {slug}")))?
                .into_inner();
            listed
                .versions
                .into_iter()
                .next()
                .map(|v| v.version)
                .unwrap_or_default()
        } else {
            let saved = actions
                .create_action(with_token(
                    pb::CreateActionRequest {
                        slug: slug.into(),
                        name: manifest.name.clone(),
                        triggers: manifest
                            .triggers
                            .iter()
                            .map(|t| t.as_str().to_owned())
                            .collect(),
                        config_schema_json: manifest
                            .config_schema
                            .as_ref()
                            .map(|s| s.to_string())
                            .unwrap_or_default(),
                        version: manifest
                            .version
                            .as_ref()
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                        source: Some(source),
                        secrets: manifest
                            .secrets
                            .iter()
                            .map(|d| pb::SecretDeclaration {
                                name: d.name.clone(),
                                description: d.description.clone(),
                            })
                            .collect(),
                    },
                    token,
                )?)
                .await
                .map_err(failed(format!("creating {slug}")))?
                .into_inner();
            saved.version.map(|v| v.version).unwrap_or_default()
        };
        actions
            .publish_version(with_token(
                pb::PublishVersionRequest {
                    slug: slug.into(),
                    version,
                },
                token,
            )?)
            .await
            .map_err(failed(format!("publishing {slug}")))?;
        let config_path = dir.join("config.json");
        let config_json = std::fs::read_to_string(&config_path).unwrap_or_default();
        flows
            .attach_action(with_token(
                pb::AttachActionRequest {
                    trigger: (*trigger).into(),
                    action_slug: slug.into(),
                    major: None,
                    position: None,
                    config_json,
                    fail_open: *fail_open,
                    limits: None,
                },
                token,
            )?)
            .await
            .map_err(failed(format!("attaching {slug} to {trigger}")))?;
        tracing::info!(slug, trigger, "demo: starter published and attached");
    }
    Ok(())
}
