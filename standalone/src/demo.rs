//! The demo tenant: the starters created, published and attached through the
//! management API, as a developer would with the CLI.

use actions_proto::controlplane::v1::{
    self as pb, actions_client::ActionsClient, flows_client::FlowsClient,
    tenants_client::TenantsClient,
};
use anyhow::Context as _;
use std::collections::HashMap;
use std::path::Path;
use tonic::Request;

/// Where each starter goes, and whether a failure of it lets the flow carry on.
const ATTACHED: &[(&str, &str, bool)] = &[
    ("domain-allowlist", "login.pre-credential-check", false),
    ("custom-claim", "login.post-login", false),
    ("webhook-emit", "registration.post-create", true),
];

fn with_token<T>(message: T, token: &str) -> anyhow::Result<Request<T>> {
    Ok(actions_proto::bearer::request(message, token)?)
}

/// Creates the `demo` tenant (when it is not there) and a token for it.
pub async fn create_tenant(control_plane: &str, operator_token: &str) -> anyhow::Result<String> {
    let mut tenants = TenantsClient::connect(control_plane.to_owned()).await?;
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
        Err(status) => return Err(status).context("creating the demo tenant"),
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
        .context("creating the demo tenant's token")?
        .into_inner();
    Ok(token.secret)
}

/// The files of a starter's package: its manifest and `src/`.
fn read_starter(dir: &Path) -> anyhow::Result<(serde_json::Value, HashMap<String, String>)> {
    let manifest_path = dir.join("action.json");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?,
    )
    .with_context(|| format!("{}", manifest_path.display()))?;
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(dir.join("src"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "ts") {
            let name = format!(
                "src/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            files.insert(name, std::fs::read_to_string(&path)?);
        }
    }
    Ok((manifest, files))
}

/// Creates, publishes and attaches every starter the demo tenant lacks.
pub async fn load(control_plane: &str, token: &str, starters: &Path) -> anyhow::Result<()> {
    let mut actions = ActionsClient::connect(control_plane.to_owned()).await?;
    let mut flows = FlowsClient::connect(control_plane.to_owned()).await?;
    let current = flows
        .list_flows(with_token(pb::ListFlowsRequest {}, token)?)
        .await?
        .into_inner();
    let bound: Vec<String> = current
        .flows
        .iter()
        .flat_map(|f| &f.slots)
        .flat_map(|s| &s.bindings)
        .map(|b| b.action_slug.clone())
        .collect();
    for (slug, trigger, fail_open) in ATTACHED {
        if bound.iter().any(|b| b == slug) {
            continue;
        }
        let dir = starters.join(slug);
        let (manifest, files) = read_starter(&dir)?;
        let exists = actions
            .get_action(with_token(
                pb::GetActionRequest {
                    slug: (*slug).into(),
                },
                token,
            )?)
            .await
            .is_ok();
        let version = if exists {
            let listed = actions
                .list_versions(with_token(
                    pb::ListVersionsRequest {
                        slug: (*slug).into(),
                        page_size: 1,
                        page_token: String::new(),
                    },
                    token,
                )?)
                .await?
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
                        slug: (*slug).into(),
                        name: manifest["name"].as_str().unwrap_or(slug).into(),
                        triggers: manifest["triggers"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|t| t.as_str().map(str::to_owned))
                            .collect(),
                        config_schema_json: manifest
                            .get("config_schema")
                            .map(|s| s.to_string())
                            .unwrap_or_default(),
                        version: manifest["version"].as_str().unwrap_or_default().into(),
                        source: Some(pb::Source {
                            files,
                            entry: "src/index.ts".into(),
                        }),
                    },
                    token,
                )?)
                .await
                .with_context(|| format!("creating {slug}"))?
                .into_inner();
            saved.version.map(|v| v.version).unwrap_or_default()
        };
        actions
            .publish_version(with_token(
                pb::PublishVersionRequest {
                    slug: (*slug).into(),
                    version,
                },
                token,
            )?)
            .await
            .with_context(|| format!("publishing {slug}"))?;
        let config_path = dir.join("config.json");
        let config_json = std::fs::read_to_string(&config_path).unwrap_or_default();
        flows
            .attach_action(with_token(
                pb::AttachActionRequest {
                    trigger: (*trigger).into(),
                    action_slug: (*slug).into(),
                    major: None,
                    position: None,
                    config_json,
                    fail_open: *fail_open,
                    limits: None,
                },
                token,
            )?)
            .await
            .with_context(|| format!("attaching {slug} to {trigger}"))?;
        tracing::info!(slug, trigger, "demo: starter published and attached");
    }
    Ok(())
}
