//! The scenarios, each run on both databases (see `main.rs`), one file per
//! topic; here, what they share: the calls every scenario makes (create,
//! save, publish, attach, list runs and audit events), the sources and
//! events they use, and package archives.

mod auth0;
mod bad_input;
mod bindings;
mod config_schemas;
mod console_api;
mod database_faults;
mod guide_patterns;
mod hostile_tenants;
mod monitoring;
mod packages;
mod replay;
mod secrets;
mod tenant_isolation;
mod test_runs;
mod versions;

pub use auth0::auth0_handlers_run_unchanged_at_their_own_triggers;
pub use bad_input::bad_input_leaves_the_store_exactly_as_it_was;
pub use bindings::bindings_move_change_and_detach;
pub use config_schemas::a_schema_breaking_publish_is_refused;
pub use console_api::{
    the_console_and_grpc_web_share_the_control_planes_port,
    unsaved_sources_run_in_the_sandbox_and_compile_errors_are_located,
};
pub use database_faults::the_database_going_away_is_clear_and_loses_nothing;
pub use guide_patterns::the_product_guides_patterns_end_to_end;
pub use hostile_tenants::one_tenants_attacks_never_reach_another_tenants_sign_ins;
pub use monitoring::{
    a_candidate_slot_runs_an_unsaved_change_and_stores_nothing,
    run_stats_count_a_tenants_runs_per_minute_and_action,
    the_audit_of_an_action_shows_its_config_and_schema_changes,
};
pub use packages::packages_upload_and_hostile_archives_are_refused;
pub use replay::{
    a_run_that_read_more_than_a_record_keeps_says_it_cannot_be_replayed,
    recorded_runs_replay_exactly_and_a_changed_version_shows_where_it_parts,
};
pub use secrets::{
    secrets_are_write_only_sealed_redacted_and_needed_to_publish,
    tenants_with_the_same_action_and_secret_names_see_their_own_values,
};
pub use tenant_isolation::every_rpc_refuses_another_tenants_data;
pub use test_runs::test_runs_use_the_sandbox_and_change_no_flow;
pub use versions::versions_are_compiled_immutable_and_only_go_forward;

use crate::harness::Harness;
use actions_proto::controlplane::v1 as pb;
use actions_proto::runner::v1::ExecuteResponse;
use actions_test_support::{auth, examples};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn source(text: &str) -> pb::Source {
    pb::Source {
        files: [("src/index.ts".to_owned(), text.to_owned())].into(),
        entry: "src/index.ts".into(),
    }
}

fn pattern(name: &str) -> pb::Source {
    let path = examples().join("patterns").join(name).join("src/index.ts");
    source(&std::fs::read_to_string(&path).expect("pattern source"))
}

fn event(path: &str) -> String {
    std::fs::read_to_string(examples().join(path)).expect("event")
}

fn claims(response: &ExecuteResponse) -> Value {
    serde_json::from_str(&response.access_token_claims_json).expect("claims JSON")
}

async fn create(
    h: &Harness,
    token: &str,
    slug: &str,
    triggers: &[&str],
    schema: &str,
    source: pb::Source,
) -> Result<pb::SaveVersionResponse, tonic::Status> {
    h.actions()
        .create_action(auth(
            pb::CreateActionRequest {
                slug: slug.into(),
                name: format!("The {slug} Action"),
                triggers: triggers.iter().map(|t| (*t).to_owned()).collect(),
                config_schema_json: schema.into(),
                version: String::new(),
                source: Some(source),
                ..Default::default()
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// A new Action with a trivial source: one `action.created` audit event.
pub(crate) async fn create_action(h: &Harness, token: &str, slug: &str) {
    create(
        h,
        token,
        slug,
        &[POST_LOGIN],
        "",
        source("export async function execute() {}"),
    )
    .await
    .expect("create an Action");
}

async fn save(
    h: &Harness,
    token: &str,
    slug: &str,
    version: &str,
    schema: &str,
    source: pb::Source,
) -> Result<pb::Version, tonic::Status> {
    h.actions()
        .save_version(auth(
            pb::SaveVersionRequest {
                slug: slug.into(),
                version: version.into(),
                triggers: Vec::new(),
                config_schema_json: schema.into(),
                source: Some(source),
                ..Default::default()
            },
            token,
        ))
        .await
        .map(|r| r.into_inner().version.expect("version"))
}

async fn publish(
    h: &Harness,
    token: &str,
    slug: &str,
    version: &str,
) -> Result<pb::Version, tonic::Status> {
    h.actions()
        .publish_version(auth(
            pb::PublishVersionRequest {
                slug: slug.into(),
                version: version.into(),
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn attach(
    h: &Harness,
    token: &str,
    trigger: &str,
    slug: &str,
    config: Value,
    fail_open: bool,
) -> Result<pb::SlotBinding, tonic::Status> {
    h.flows()
        .attach_action(auth(
            pb::AttachActionRequest {
                trigger: trigger.into(),
                action_slug: slug.into(),
                major: None,
                position: None,
                config_json: config.to_string(),
                fail_open,
                limits: None,
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn slot_bindings(h: &Harness, token: &str, trigger: &str) -> Vec<pb::SlotBinding> {
    h.flows()
        .list_flows(auth(pb::ListFlowsRequest {}, token))
        .await
        .expect("list flows")
        .into_inner()
        .flows
        .into_iter()
        .flat_map(|f| f.slots)
        .filter(|s| s.trigger == trigger)
        .flat_map(|s| s.bindings)
        .collect()
}

async fn runs(h: &Harness, token: &str, filter: pb::ListRunsRequest) -> Vec<pb::RunRecord> {
    h.audit()
        .list_runs(auth(filter, token))
        .await
        .expect("list runs")
        .into_inner()
        .runs
}

/// Lists runs until `enough` says the list is complete: records travel
/// from the runner's spool to the control plane in the background.
async fn runs_when(
    h: &Harness,
    token: &str,
    filter: pb::ListRunsRequest,
    enough: impl Fn(&[pb::RunRecord]) -> bool,
) -> Vec<pb::RunRecord> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = runs(h, token, filter.clone()).await;
        if enough(&found) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "runs never arrived; have {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn audit_events(h: &Harness, token: &str, kind: &str) -> Vec<pb::AuditEvent> {
    h.audit()
        .list_audit_events(auth(
            pb::ListAuditEventsRequest {
                kind: kind.into(),
                page_size: 500,
                page_token: String::new(),
                action_slug: String::new(),
            },
            token,
        ))
        .await
        .expect("list audit events")
        .into_inner()
        .events
}

pub(crate) const LOGIN: &str = "login.pre-credential-check";
pub(crate) const POST_LOGIN: &str = "login.post-login";
const POST_CREATE: &str = "registration.post-create";

pub(crate) fn login_event(email: &str) -> String {
    json!({ "user": { "id": "u1", "email": email, "app_metadata": {} }, "request": {}, "client": {}, "connection": {} })
        .to_string()
}

fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, *bytes)
            .expect("append");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

/// A tar.gz with one raw header: a path or a kind `tar::Builder` would refuse to write.
fn hostile_tar_gz(path: &[u8], kind: tar::EntryType, link: Option<&str>) -> Vec<u8> {
    let manifest = br#"{"name":"x","slug":"x","triggers":["login.post-login"]}"#;
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, "action.json", &manifest[..])
        .expect("append");
    let body = b"export async function execute() {}";
    let mut raw = tar::Header::new_gnu();
    raw.as_gnu_mut().expect("gnu").name[..path.len()].copy_from_slice(path);
    raw.set_entry_type(kind);
    raw.set_mode(0o644);
    if let Some(target) = link {
        raw.set_link_name(target).expect("link name");
    }
    let size = if kind == tar::EntryType::Regular {
        body.len()
    } else {
        0
    };
    raw.set_size(size as u64);
    raw.set_cksum();
    builder.append(&raw, &body[..size]).expect("append raw");
    builder.into_inner().expect("tar").finish().expect("gzip")
}
