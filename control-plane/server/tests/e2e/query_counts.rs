//! Listing Actions and the first message of a runner's flows watch make a
//! fixed number of queries, however many Actions or tenants there are, on
//! SQLite and on PostgreSQL. The store counts every statement it sends
//! (`Store::queries`); each test takes the difference around the call, with
//! few things stored and then with many.
//!
//! These tests need the store itself, which the harness does not hand out,
//! so each makes its own database (a SQLite file, or a PostgreSQL database
//! of its own, dropped after it) and calls the services in-process.

use crate::harness::{Db, PostgresDatabase, postgres_server};
use actions_control_plane::auth::{Secrets, secret_sha256};
use actions_control_plane::store::{NewBinding, NewVersion, Store};
use actions_control_plane::{ControlPlane, api::ActionsApi};
use actions_proto::controlplane::v1::{self as pb, actions_server::Actions};
use actions_test_support::{auth, cache_dir};
use sha2::{Digest as _, Sha256};
use std::sync::Arc;

const POST_LOGIN: &str = "login.post-login";
const PRE_CREATE: &str = "registration.pre-create";

macro_rules! on_both_databases {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let database = super::Database::new(crate::harness::Db::Sqlite)
                        .await
                        .expect("SQLite always runs");
                    super::$test(&database.store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(database) =
                        super::Database::new(crate::harness::Db::Postgres).await
                    else {
                        return;
                    };
                    super::$test(&database.store).await;
                }
            )*
        }
    };
}

on_both_databases!(
    listing_actions_takes_one_query_however_many_there_are,
    the_flows_snapshot_takes_one_query_however_many_tenants_there_are,
);

/// A store on a database of the test's own.
struct Database {
    store: Store,
    _dir: tempfile::TempDir,
    /// Dropped with the test.
    _postgres: Option<PostgresDatabase>,
}

impl Database {
    async fn new(db: Db) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, postgres) = match db {
            Db::Sqlite => (
                format!("sqlite://{}", dir.path().join("cp.db").display()),
                None,
            ),
            Db::Postgres => {
                let Some(server) = postgres_server() else {
                    eprintln!("skipped: set ACTIONS_TEST_POSTGRES_URL to run this on PostgreSQL");
                    return None;
                };
                let database = PostgresDatabase::create(&server).await;
                (database.url(), Some(database))
            }
        };
        let store = Store::connect(&url).await.expect("connect and migrate");
        Some(Self {
            store,
            _dir: dir,
            _postgres: postgres,
        })
    }
}

/// Saves `version` of `slug` (created with it when new), with a module of
/// its own; nothing is compiled: the store takes what it is given.
async fn save(store: &Store, tenant: &str, slug: &str, version: &str, triggers: &[&str]) {
    let create = store
        .action(tenant, slug)
        .await
        .expect("read")
        .is_none()
        .then(|| format!("Action {slug}"));
    let module = format!("{tenant}/{slug}@{version}");
    store
        .save_version(
            tenant,
            create.as_deref(),
            NewVersion {
                slug: slug.into(),
                requested: Some(version.parse().expect("semver")),
                triggers: triggers.iter().map(|t| (*t).to_owned()).collect(),
                config_schema: r#"{"type":"object"}"#.into(),
                source: "{}".into(),
                javascript: String::new(),
                wasm: module.clone().into_bytes(),
                module_sha256: hex::encode(Sha256::digest(module.as_bytes())),
                plugin_id: "test".into(),
                secrets: Vec::new(),
            },
            "test",
        )
        .await
        .expect("save");
}

async fn publish(store: &Store, tenant: &str, slug: &str, version: &str) {
    store
        .publish(tenant, slug, version, "test", |_, _, _| Ok(()))
        .await
        .expect("publish");
}

async fn attach(store: &Store, tenant: &str, trigger: &str, slug: &str, n: usize) -> String {
    let id = format!("bnd_{tenant}_{slug}_{n}");
    store
        .attach(
            tenant,
            NewBinding {
                id: &id,
                trigger,
                slug,
                major: None,
                position: None,
                config: "{}",
                fail_open: false,
                limits: None,
            },
            "test",
            |_| Ok(()),
        )
        .await
        .expect("attach");
    id
}

/// Action `n` of a tenant: 0.1.0 live, 0.1.1 saved after it; every other
/// one also a live 1.0.0; `n % 3` bindings.
async fn action(store: &Store, tenant: &str, n: usize) {
    let slug = format!("act-{n:02}");
    save(store, tenant, &slug, "0.1.0", &[POST_LOGIN, PRE_CREATE]).await;
    publish(store, tenant, &slug, "0.1.0").await;
    save(store, tenant, &slug, "0.1.1", &[POST_LOGIN]).await;
    if n % 2 == 1 {
        save(store, tenant, &slug, "1.0.0", &[PRE_CREATE]).await;
        publish(store, tenant, &slug, "1.0.0").await;
    }
    for b in 0..n % 3 {
        attach(store, tenant, PRE_CREATE, &slug, b).await;
    }
}

/// What ListActions must say of action `n` (see [`action`]).
fn expected(n: usize) -> (String, String, Vec<String>, Vec<String>, u32) {
    let odd = n % 2 == 1;
    (
        format!("act-{n:02}"),
        if odd { "1.0.0" } else { "0.1.1" }.into(),
        if odd {
            vec![PRE_CREATE]
        } else {
            vec![POST_LOGIN]
        }
        .into_iter()
        .map(String::from)
        .collect(),
        if odd {
            vec!["1.0.0", "0.1.0"]
        } else {
            vec!["0.1.0"]
        }
        .into_iter()
        .map(String::from)
        .collect(),
        (n % 3) as u32,
    )
}

fn seen(action: &pb::Action) -> (String, String, Vec<String>, Vec<String>, u32) {
    (
        action.slug.clone(),
        action.latest_version.clone(),
        action.triggers.clone(),
        action.live_versions.clone(),
        action.bindings,
    )
}

/// The queries one call makes, and what it answered.
async fn counted<T>(store: &Store, call: impl Future<Output = T>) -> (u64, T) {
    let before = store.queries();
    let answer = call.await;
    (store.queries() - before, answer)
}

pub async fn listing_actions_takes_one_query_however_many_there_are(store: &Store) {
    store
        .create_tenant("acme", "Acme", "test")
        .await
        .expect("tenant");
    let secret = "act_query_counts";
    store
        .create_token("tok_1", "acme", "dev", &secret_sha256(secret), "test")
        .await
        .expect("token");
    let cp = ControlPlane::new(store.clone(), Secrets::default(), Some(cache_dir!()), None)
        .await
        .expect("control plane");
    let api = ActionsApi::new(Arc::new(cp));
    let list = |page_size: u32, page_token: &str| {
        api.list_actions(auth(
            pb::ListActionsRequest {
                page_size,
                page_token: page_token.into(),
            },
            secret,
        ))
    };

    action(store, "acme", 1).await;
    let (one, listed) = counted(store, list(0, "")).await;
    let listed = listed.expect("list").into_inner();
    assert_eq!(
        listed.actions.iter().map(seen).collect::<Vec<_>>(),
        [expected(1)]
    );

    for n in 2..=12 {
        action(store, "acme", n).await;
    }
    let (twelve, listed) = counted(store, list(0, "")).await;
    let listed = listed.expect("list").into_inner();
    assert_eq!(
        listed.actions.iter().map(seen).collect::<Vec<_>>(),
        (1..=12).map(expected).collect::<Vec<_>>()
    );
    assert_eq!(listed.next_page_token, "");
    // The token's lookup, then the page with everything shown of each Action.
    assert_eq!(
        (one, twelve),
        (2, 2),
        "queries to list 1 Action, then 12 Actions"
    );

    // A page of a longer list: the same, and it ends where the next starts.
    let (paged, page) = counted(store, list(5, "act-03")).await;
    let page = page.expect("list a page").into_inner();
    assert_eq!(
        page.actions.iter().map(seen).collect::<Vec<_>>(),
        (4..=8).map(expected).collect::<Vec<_>>()
    );
    assert_eq!(page.next_page_token, "act-08");
    assert_eq!(paged, 2);

    // One Action: the same query, narrowed.
    let (got, action) = counted(
        store,
        api.get_action(auth(
            pb::GetActionRequest {
                slug: "act-05".into(),
            },
            secret,
        )),
    )
    .await;
    assert_eq!(seen(&action.expect("get").into_inner()), expected(5));
    assert_eq!(got, 2);
}

pub async fn the_flows_snapshot_takes_one_query_however_many_tenants_there_are(store: &Store) {
    store
        .create_tenant("t00", "T0", "test")
        .await
        .expect("tenant");
    action(store, "t00", 2).await;
    let (one, snapshot) = counted(store, store.flows_snapshot()).await;
    let (revision, tenants) = snapshot.expect("snapshot");
    assert_eq!(revision, store.current_revision().await.expect("revision"));
    let ids = |tenants: &[(String, Vec<actions_control_plane::store::StoredBinding>)]| {
        tenants
            .iter()
            .map(|(tenant, bindings)| {
                let ids: Vec<String> = bindings.iter().map(|b| b.id.clone()).collect();
                (tenant.clone(), ids)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&tenants),
        [(
            "t00".to_owned(),
            vec!["bnd_t00_act-02_0".to_owned(), "bnd_t00_act-02_1".to_owned()]
        )]
    );

    // Eight tenants: t01 with nothing bound, the others with 2 to 7
    // Actions, each bound once, in two slots.
    let mut expected: Vec<(String, Vec<String>)> = ids(&tenants);
    for t in 1..8 {
        let tenant = format!("t{t:02}");
        store
            .create_tenant(&tenant, &tenant, "test")
            .await
            .expect("tenant");
        let mut bound = Vec::new();
        for n in 0..t {
            let slug = format!("act-{n:02}");
            save(store, &tenant, &slug, "0.1.0", &[POST_LOGIN, PRE_CREATE]).await;
            publish(store, &tenant, &slug, "0.1.0").await;
            if t > 1 {
                let trigger = if n % 2 == 0 { POST_LOGIN } else { PRE_CREATE };
                bound.push((trigger, attach(store, &tenant, trigger, &slug, 0).await));
            }
        }
        // Slot by slot (by name), each in the order attached.
        bound.sort();
        expected.push((tenant, bound.into_iter().map(|(_, id)| id).collect()));
    }
    let (eight, snapshot) = counted(store, store.flows_snapshot()).await;
    let (revision, tenants) = snapshot.expect("snapshot");
    assert_eq!(revision, store.current_revision().await.expect("revision"));
    assert_eq!(ids(&tenants), expected);
    for (_, bindings) in &tenants {
        for binding in bindings {
            assert_eq!(binding.version, "0.1.0", "{binding:?}");
            assert!(!binding.module_sha256.is_empty(), "{binding:?}");
        }
    }
    assert_eq!(
        (one, eight),
        (1, 1),
        "queries for a snapshot of 1 tenant, then of 8 tenants"
    );
}
