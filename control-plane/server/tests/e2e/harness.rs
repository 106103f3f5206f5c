//! A control plane and a runner, each on a real socket, on SQLite or on a
//! PostgreSQL database made for the test and dropped after it.

use actions_control_plane::auth::Secrets;
use actions_control_plane::sealing::SealingKeys;
use actions_control_plane::store::Store;
use actions_control_plane::{ControlPlane, TestRunnerSettings, api};
use actions_proto::controlplane::v1::{
    self as pb, actions_client::ActionsClient, audit_client::AuditClient,
    flows_client::FlowsClient, secrets_client::SecretsClient, tenants_client::TenantsClient,
    tests_client::TestsClient,
};
use actions_proto::runner::v1::{
    ExecuteRequest, ExecuteResponse, execution_client::ExecutionClient,
};
use actions_runner::settings::RunnerSettings;
use actions_runner::state::RunnerState;
pub use actions_test_support::{LoopbackHttp, auth, cache_dir};
use sqlx::Connection as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

pub const OPERATOR: &str = "operator-secret-for-tests";
pub const RUNNER_TOKEN: &str = "runner-secret-for-tests";
pub const SYNC_TOKEN: &str = "sync-secret-for-tests";
/// The key the control plane seals secrets with.
pub const SECRETS_KEY: [u8; 32] = [0x11; 32];
/// The key a rotation moves to: the control plane already opens with it, as
/// every replica must before any of them starts sealing with it.
pub const NEXT_SECRETS_KEY: [u8; 32] = [0x22; 32];

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests make their databases on, e.g.
/// `postgres://postgres@127.0.0.1:5432`. Without it the PostgreSQL tests
/// say they were skipped, unless `ACTIONS_REQUIRE_POSTGRES=1`, which CI sets.
pub fn postgres_server() -> Option<String> {
    let url = std::env::var("ACTIONS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("ACTIONS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("ACTIONS_REQUIRE_POSTGRES=1 but ACTIONS_TEST_POSTGRES_URL is not set");
    }
    url
}

/// A database of one test's own, dropped when the test ends (even by panic).
pub struct PostgresDatabase {
    server: String,
    name: String,
}

impl PostgresDatabase {
    pub async fn create(server: &str) -> Self {
        let mut bytes = [0u8; 6];
        getrandom::fill(&mut bytes).expect("random");
        let name = format!("actions_test_{}", hex::encode(bytes));
        let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
            .await
            .expect("connect to the PostgreSQL server");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        Self {
            server: server.to_owned(),
            name,
        }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(mut admin) =
                    sqlx::PgConnection::connect(&format!("{server}/postgres")).await
                {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join();
    }
}

/// What the console's build would be, for the control plane to serve.
pub const CONSOLE_INDEX: &str = "<!doctype html><title>Actions console (test build)</title>";

fn console_files(data: &std::path::Path) -> std::path::PathBuf {
    let dir = data.join("console");
    std::fs::create_dir_all(dir.join("assets")).expect("console dir");
    std::fs::write(dir.join("index.html"), CONSOLE_INDEX).expect("index.html");
    std::fs::write(dir.join("assets/app.js"), "console.log('app');").expect("app.js");
    dir
}

pub struct Harness {
    pub cp: Channel,
    pub runner: Channel,
    /// Where webhooks go: an HTTP server on loopback that keeps them.
    pub webhooks: LoopbackHttp,
    pub webhook_url: String,
    /// The control plane's address: gRPC, gRPC-Web and the console's files.
    pub cp_address: std::net::SocketAddr,
    stop_control_plane: tokio::sync::watch::Sender<bool>,
    stop_runner: tokio::sync::watch::Sender<bool>,
    control_plane_task: tokio::task::JoinHandle<()>,
    runner_task: tokio::task::JoinHandle<()>,
    _data: tempfile::TempDir,
    _database: Option<PostgresDatabase>,
    database_url: String,
}

impl Harness {
    /// Starts both; `None` when the database is PostgreSQL and no server was given.
    pub async fn start(db: Db) -> Option<Self> {
        // RUST_LOG=info shows what the control plane and the runner say.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let data = tempfile::tempdir().expect("temp dir");
        let (url, database) = match db {
            Db::Sqlite => (
                format!("sqlite://{}", data.path().join("cp.db").display()),
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
        let cp_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let runner_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let cp_address = cp_listener.local_addr().expect("address");
        let runner_address = runner_listener.local_addr().expect("address");
        let store = Store::connect(&url).await.expect("connect and migrate");
        tokio::spawn(store.clone().follow_other_replicas(url.clone()));
        let control_plane = ControlPlane::new(
            store,
            Secrets {
                operator_token: OPERATOR.into(),
                sync_token: SYNC_TOKEN.into(),
                insecure_no_auth: false,
            },
            Some(cache_dir!()),
            Some(&TestRunnerSettings {
                url: format!("http://{runner_address}"),
                token: RUNNER_TOKEN.into(),
            }),
        )
        .await
        .expect("control plane")
        .open_secrets(Some(SealingKeys::new(&SECRETS_KEY, &[NEXT_SECRETS_KEY])))
        .await
        .expect("secrets open")
        .with_console(Some(console_files(data.path())));
        let modules = data.path().join("modules");
        std::fs::create_dir_all(&modules).expect("modules dir");
        let mut settings = RunnerSettings::new(modules);
        settings.listen = runner_address.to_string();
        settings.token = RUNNER_TOKEN.into();
        settings.control_plane = Some(format!("http://{cp_address}"));
        settings.sync_token = SYNC_TOKEN.into();
        settings.cache_dir = Some(cache_dir!());
        settings.runner_id = "test-runner".into();
        settings.records.spool_dir = Some(data.path().join("spool"));
        settings.fetch.allow_cidrs = vec!["127.0.0.1/32".into()];
        let runner = tokio::task::spawn_blocking(move || RunnerState::new(settings))
            .await
            .expect("join")
            .expect("runner");
        let (stop_control_plane, cp_stopped) = tokio::sync::watch::channel(false);
        let (stop_runner, runner_stopped) = tokio::sync::watch::channel(false);
        let until = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let webhooks =
            LoopbackHttp::start(|_| "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".into())
                .await;
        let webhook_url = format!("http://127.0.0.1:{}/hook", webhooks.port);
        let control_plane_task = tokio::spawn(async move {
            api::serve(Arc::new(control_plane), cp_listener, until(cp_stopped))
                .await
                .expect("control plane serves");
        });
        let runner_task = tokio::spawn(async move {
            actions_runner::execution::serve(runner, runner_listener, until(runner_stopped))
                .await
                .expect("runner serves");
        });
        let connect = |address: std::net::SocketAddr| async move {
            Channel::from_shared(format!("http://{address}"))
                .expect("url")
                .connect()
                .await
                .expect("connect")
        };
        Some(Self {
            cp: connect(cp_address).await,
            runner: connect(runner_address).await,
            webhooks,
            webhook_url,
            cp_address,
            stop_control_plane,
            stop_runner,
            control_plane_task,
            runner_task,
            _data: data,
            _database: database,
            database_url: url.clone(),
        })
    }

    /// Stops the control plane first, while the runner still watches it:
    /// a graceful shutdown must not wait for the runner's stream to end.
    pub async fn stop(self) {
        let _ = self.stop_control_plane.send(true);
        tokio::time::timeout(Duration::from_secs(5), self.control_plane_task)
            .await
            .expect("the control plane stops while a runner is watching it")
            .expect("the control plane task ends cleanly");
        let _ = self.stop_runner.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.runner_task)
            .await
            .expect("the runner stops")
            .expect("the runner task ends cleanly");
    }

    /// The database the control plane uses: a test may open it beside the
    /// control plane (another replica, or the raw rows).
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    pub fn tenants(&self) -> TenantsClient<Channel> {
        TenantsClient::new(self.cp.clone())
    }
    /// Every row of every table (migrations' own excepted), as text, in a
    /// stable order: what "the stored state" means when a test says a
    /// refused call left it exactly as it was.
    pub async fn store_dump(&self) -> Vec<String> {
        use sqlx::{Column as _, Row as _};
        sqlx::any::install_default_drivers();
        let mut connection = sqlx::AnyConnection::connect(&self.database_url)
            .await
            .expect("connect to the database");
        let tables: Vec<String> = sqlx::query_scalar(if self._database.is_some() {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
             AND tablename <> '_sqlx_migrations' ORDER BY 1"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> '_sqlx_migrations' ORDER BY 1"
        })
        .fetch_all(&mut connection)
        .await
        .expect("list tables");
        let mut dump = Vec::new();
        for table in tables {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
                .fetch_all(&mut connection)
                .await
                .expect("read a table");
            let mut lines: Vec<String> = rows
                .iter()
                .map(|row| {
                    let cells: Vec<String> = (0..row.columns().len())
                        .map(|i| {
                            let name = row.columns()[i].name().to_owned();
                            let value = row
                                .try_get::<Option<i64>, _>(i)
                                .map(|v| format!("{v:?}"))
                                .or_else(|_| {
                                    row.try_get::<Option<String>, _>(i)
                                        .map(|v| format!("{v:?}"))
                                })
                                .or_else(|_| {
                                    row.try_get::<Option<Vec<u8>>, _>(i)
                                        .map(|v| format!("{v:?}"))
                                })
                                .or_else(|_| {
                                    row.try_get::<Option<bool>, _>(i).map(|v| format!("{v:?}"))
                                })
                                .or_else(|_| {
                                    row.try_get::<Option<f64>, _>(i).map(|v| format!("{v:?}"))
                                })
                                .unwrap_or_else(|e| format!("<{e}>"));
                            format!("{name}={value}")
                        })
                        .collect();
                    format!("{table}: {}", cells.join(", "))
                })
                .collect();
            lines.sort();
            dump.push(format!("{table}: {} rows", lines.len()));
            dump.extend(lines);
        }
        dump
    }

    /// On PostgreSQL, takes the database away (no new connections, every
    /// open one terminated) or gives it back; `false` on SQLite.
    pub async fn database_available(&self, available: bool) -> bool {
        let Some(database) = &self._database else {
            return false;
        };
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", database.server))
            .await
            .expect("connect to the PostgreSQL server");
        let name = &database.name;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {available}"
        )))
        .execute(&mut admin)
        .await
        .expect("alter the database");
        if !available {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            )))
            .execute(&mut admin)
            .await
            .expect("terminate its connections");
        }
        true
    }

    pub fn actions(&self) -> ActionsClient<Channel> {
        ActionsClient::new(self.cp.clone())
    }
    pub fn flows(&self) -> FlowsClient<Channel> {
        FlowsClient::new(self.cp.clone())
    }
    pub fn tests(&self) -> TestsClient<Channel> {
        TestsClient::new(self.cp.clone())
    }
    pub fn audit(&self) -> AuditClient<Channel> {
        AuditClient::new(self.cp.clone())
    }
    pub fn secrets(&self) -> SecretsClient<Channel> {
        SecretsClient::new(self.cp.clone())
    }

    /// A tenant and a token for it.
    pub async fn tenant(&self, id: &str) -> String {
        self.tenants()
            .create_tenant(auth(
                pb::CreateTenantRequest {
                    id: id.into(),
                    name: format!("Tenant {id}"),
                },
                OPERATOR,
            ))
            .await
            .expect("create tenant");
        self.tenants()
            .create_token(auth(
                pb::CreateTokenRequest {
                    tenant: id.into(),
                    name: format!("{id}-dev"),
                },
                OPERATOR,
            ))
            .await
            .expect("create token")
            .into_inner()
            .secret
    }

    /// Calls the runner's Execute, as an auth backend does.
    pub async fn execute(
        &self,
        tenant: &str,
        trigger: &str,
        event_json: &str,
    ) -> Result<ExecuteResponse, tonic::Status> {
        ExecutionClient::new(self.runner.clone())
            .execute(auth(
                ExecuteRequest {
                    tenant: tenant.into(),
                    trigger: trigger.into(),
                    event_json: event_json.into(),
                    ..ExecuteRequest::default()
                },
                RUNNER_TOKEN,
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Executes until the runner runs exactly `bindings` (in order) at the
    /// slot: changes reach runners through their watch stream.
    pub async fn execute_when(
        &self,
        tenant: &str,
        trigger: &str,
        event_json: &str,
        bindings: &[&str],
    ) -> ExecuteResponse {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let answer = self.execute(tenant, trigger, event_json).await;
            if let Ok(response) = &answer {
                let ran: Vec<&str> = response
                    .bindings
                    .iter()
                    .map(|b| b.binding_id.as_str())
                    .collect();
                if ran == bindings {
                    return answer.expect("checked");
                }
            }
            assert!(
                Instant::now() < deadline,
                "the runner never ran {bindings:?} at {trigger}; last answer: {answer:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
