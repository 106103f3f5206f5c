//! Run records between a runner and the real control plane (in this
//! process, on SQLite): a record the control plane refuses is set aside in
//! the spool's `rejected/` folder and every record behind it, of every
//! tenant, arrives; the spool is private to the runner's user.

use crate::common::{Runner, binding, event, execute, starter};
use actions_control_plane::auth::Secrets;
use actions_control_plane::store::{RunFilter, Store};
use actions_control_plane::{ControlPlane, api};
use actions_proto::controlplane::v1::RunRecord;
use actions_proto::runner::v1::ExecuteResponse;
use actions_runner::spool::REJECTED_DIR;
use prost::Message as _;
use serde_json::json;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const SYNC_TOKEN: &str = "sync-secret-for-records";

fn record(tenant: &str, run_id: &str, deny_reason: String) -> RunRecord {
    RunRecord {
        runner_id: "an-earlier-runner".into(),
        tenant: tenant.into(),
        trigger: "login.post-login".into(),
        started_at_ms: 1,
        test: false,
        response: Some(ExecuteResponse {
            run_id: run_id.into(),
            deny_reason,
            ..ExecuteResponse::default()
        }),
        ..RunRecord::default()
    }
}

/// A spool segment as a runner that stopped leaves it.
fn spool_segment(dir: &Path, records: &[RunRecord]) {
    let mut bytes = Vec::new();
    for record in records {
        bytes.extend(record.encode_length_delimited_to_vec());
    }
    std::fs::create_dir_all(dir).expect("spool dir");
    std::fs::write(dir.join("000000000001-0000000000001.seg"), bytes).expect("segment");
}

/// The control plane, serving until the test ends; its store to look in.
async fn control_plane(data: &Path) -> (String, Store) {
    let url = format!("sqlite://{}", data.join("cp.db").display());
    let store = Store::connect(&url).await.expect("store");
    let cp = ControlPlane::new(
        store.clone(),
        Secrets {
            operator_token: "operator-secret-for-records".into(),
            sync_token: SYNC_TOKEN.into(),
            insecure_no_auth: false,
        },
        Some(actions_test_support::cache_dir!()),
        None,
    )
    .await
    .expect("control plane");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = api::serve(Arc::new(cp), listener, std::future::pending()).await;
    });
    (format!("http://{address}"), store)
}

async fn stored_run_ids(store: &Store, tenant: &str) -> Vec<String> {
    let mut ids: Vec<String> = store
        .runs(tenant, &RunFilter::default(), 0, 100)
        .await
        .expect("runs")
        .into_iter()
        .map(|(_, r)| r.run_id().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_is_set_aside_and_the_records_behind_it_arrive() {
    let data = tempfile::tempdir().expect("tempdir");
    let spool = data.path().join("spool");
    // Over the control plane's message limit: refused on every push.
    let refused = record("evil", "refused-1", "x".repeat(9 * 1024 * 1024));
    spool_segment(
        &spool,
        &[
            record("acme", "before-1", String::new()),
            refused.clone(),
            record("globex", "after-1", String::new()),
        ],
    );
    let (url, store) = control_plane(data.path()).await;
    let runner = Runner::start_with(
        |m| json!({ "tenants": { "globex": { "slots": { "login.post-login": [binding("c", "custom-claim", &starter(m, "custom-claim"), json!({}), false, json!({}))] } } } }),
        &[],
        "",
        |settings| {
            settings.control_plane = Some(url);
            settings.sync_token = SYNC_TOKEN.into();
            settings.records.spool_dir = Some(spool.clone());
        },
    )
    .await;
    let mut client = runner.client().await;
    let live = execute(
        &mut client,
        "globex",
        "login.post-login",
        event("ada@example.com", None),
    )
    .await
    .run_id;

    let mut expected_globex = vec!["after-1".to_owned(), live];
    expected_globex.sort();
    let started = std::time::Instant::now();
    while stored_run_ids(&store, "globex").await != expected_globex {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the records behind the refused one did not arrive: {:?}",
            stored_run_ids(&store, "globex").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored_run_ids(&store, "acme").await, ["before-1"]);
    assert!(stored_run_ids(&store, "evil").await.is_empty());

    let rejected: Vec<_> = std::fs::read_dir(spool.join(REJECTED_DIR))
        .expect("rejected/ exists")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let kept = actions_runner::spool::spooled_records(&spool.join(REJECTED_DIR)).expect("reads");
    assert_eq!(kept, [refused], "the refused record is kept whole");
    let mode = |path: &Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&spool), 0o700);
    assert_eq!(mode(&spool.join(REJECTED_DIR)), 0o700);
    assert_eq!(mode(&rejected[0]), 0o600);
    runner.stop().await;
}
