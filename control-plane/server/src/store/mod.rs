//! The repository: every read and write of the control plane's data, on
//! SQLite (the embedded default) or PostgreSQL (a fleet), through one set of
//! queries on sqlx's Any driver. Placeholders are `$1`, `$2`, ... which both
//! databases accept; the schema differs only where the two must
//! (`migrations/sqlite`, `migrations/postgres`).
//!
//! Every query names the tenant: no function here reads or writes across
//! tenants except those the runners and the operator use, whose names say so.
//!
//! Every statement goes through a [`Counted`] executor, so that tests can
//! show a call makes a fixed number of queries ([`Store::queries`]).

mod actions;
mod audit;
pub mod flows;
mod run_stats;
mod runs;
mod secrets;
mod tenants;

pub use actions::{ActionSummary, NewVersion, StoredAction, StoredVersion};
pub use audit::{AuditEntry, StoredAuditEvent};
pub use flows::{BindingChanges, NewBinding, StoredBinding};
pub use run_stats::{MAX_SCANNED_RUNS, StatsWindow};
pub use runs::RunFilter;
pub use secrets::{NewSecret, StoredSecret};
pub use tenants::{RUNNER_TOKEN_PREFIX, StoredTenant, StoredToken};

use crate::Error;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyConnection, AnyPool, Database, Either, Execute, Executor, SqlStr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard, watch};

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file (or memory) database: the embedded default.
    Sqlite,
    /// A server shared by several control-plane replicas.
    Postgres,
}

/// The control plane's data.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Every statement this store (and its clones) has sent: see [`Store::queries`].
    queries: Arc<AtomicU64>,
    /// Writes of this process go one at a time: SQLite allows one writer,
    /// and on PostgreSQL the revision row serialises them anyway.
    write_lock: Arc<Mutex<()>>,
    /// The newest flows revision this process knows of; WatchFlows streams
    /// wait on it (PostgreSQL notifications from other replicas feed it too).
    revision: Arc<watch::Sender<u64>>,
    /// The newest audit or run sequence number stored by this process; Tail waits on it.
    activity: Arc<watch::Sender<u64>>,
}

/// A write transaction of this process (one at a time). Its statements go
/// through [`Write::tx`], which counts them.
pub(crate) struct Write<'s> {
    store: &'s Store,
    tx: sqlx::Transaction<'static, Any>,
    _guard: MutexGuard<'s, ()>,
}

/// A transaction that changes something runners run: it holds the next
/// revision, and committing it wakes every watcher.
pub struct FlowChange<'s> {
    write: Write<'s>,
    revision: u64,
}

/// An executor that adds one to the store's query counter for every
/// statement sent through it, then hands the statement on. Every statement
/// of the store goes through one: [`Store::pool`], [`Write::tx`] and
/// [`FlowChange::tx`] are the only ways to the database.
#[derive(Debug)]
pub(crate) struct Counted<'a, E> {
    inner: E,
    queries: &'a AtomicU64,
}

impl Counted<'_, &mut AnyConnection> {
    /// The same transaction, for one more statement.
    pub(crate) fn again(&mut self) -> Counted<'_, &mut AnyConnection> {
        Counted {
            inner: &mut *self.inner,
            queries: self.queries,
        }
    }
}

impl<'c, E> Executor<'c> for Counted<'_, E>
where
    E: Executor<'c, Database = Any>,
{
    type Database = Any;

    // Every provided method of `Executor` (execute, fetch, fetch_all,
    // fetch_one, ...) sends its statement through exactly one of these two.
    fn fetch_many<'e, 'q: 'e, Q>(
        self,
        query: Q,
    ) -> BoxStream<
        'e,
        Result<Either<<Any as Database>::QueryResult, <Any as Database>::Row>, sqlx::Error>,
    >
    where
        'c: 'e,
        Q: 'q + Execute<'q, Any>,
    {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.inner.fetch_many(query)
    }

    fn fetch_optional<'e, 'q: 'e, Q>(
        self,
        query: Q,
    ) -> BoxFuture<'e, Result<Option<<Any as Database>::Row>, sqlx::Error>>
    where
        'c: 'e,
        Q: 'q + Execute<'q, Any>,
    {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.inner.fetch_optional(query)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [<Any as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<Any as Database>::Statement, sqlx::Error>>
    where
        'c: 'e,
    {
        self.inner.prepare_with(sql, parameters)
    }

    // Part of the trait because sqlx's `macros` feature (the workspace's)
    // turns on sqlx-core's `offline` feature.
    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<sqlx::Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.inner.describe(sql)
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`, `postgres://...`)
    /// and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::Config(format!(
                "database_url {url:?}: expected sqlite://<file> or postgres://<server>/<database>"
            )));
        };
        let url = match backend {
            // Create the file on first start.
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10));
        let options = if backend == Backend::Sqlite {
            options.after_connect(|connection, _| {
                Box::pin(async move {
                    connection
                        .execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options
            .connect(&url)
            .await
            .map_err(|e| Error::Config(format!("connecting to the database: {e}")))?;
        if backend == Backend::Sqlite && !url.contains(":memory:") {
            pool.execute("PRAGMA journal_mode = WAL")
                .await
                .map_err(|e| Error::Config(format!("setting up SQLite: {e}")))?;
        }
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("../../migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("../../migrations/postgres"),
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| Error::Config(format!("running the database migrations: {e}")))?;
        let store = Self {
            pool,
            backend,
            queries: Arc::new(AtomicU64::new(0)),
            write_lock: Arc::new(Mutex::new(())),
            revision: Arc::new(watch::channel(0).0),
            activity: Arc::new(watch::channel(0).0),
        };
        let current = store.current_revision().await?;
        store.revision.send_replace(current);
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many statements this store and its clones have sent to the
    /// database since it connected (the migrations and the connection set-up
    /// aside; `BEGIN` and `COMMIT` are not counted). Tests take the
    /// difference around a call to show that the call makes a fixed number of
    /// queries however much data there is.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// The pool, for one statement (counted).
    pub(crate) fn pool(&self) -> Counted<'_, &AnyPool> {
        Counted {
            inner: &self.pool,
            queries: &self.queries,
        }
    }

    /// Starts a write that does not change what runners run (audit of
    /// tenants and tokens, for instance).
    pub(crate) async fn write(&self) -> Result<Write<'_>, Error> {
        let guard = self.write_lock.lock().await;
        let tx = self.pool.begin().await?;
        Ok(Write {
            store: self,
            tx,
            _guard: guard,
        })
    }

    /// Starts a change of `tenant`'s flows: bumps the revision first, which
    /// takes the database's write lock for the transaction.
    pub(crate) async fn change_flows(&self, tenant: &str) -> Result<FlowChange<'_>, Error> {
        let mut write = self.write().await?;
        let revision: i64 = sqlx::query_scalar(
            "UPDATE config_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision",
        )
        .fetch_one(write.tx())
        .await?;
        sqlx::query("INSERT INTO flow_changes (revision, tenant_id) VALUES ($1, $2)")
            .bind(revision)
            .bind(tenant)
            .execute(write.tx())
            .await?;
        Ok(FlowChange {
            write,
            revision: revision as u64,
        })
    }

    /// The revision of the flows as committed.
    pub async fn current_revision(&self) -> Result<u64, Error> {
        let revision: i64 = sqlx::query_scalar("SELECT revision FROM config_revision WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        Ok(revision as u64)
    }

    /// Receives the newest revision known to this process.
    pub fn watch_revision(&self) -> watch::Receiver<u64> {
        self.revision.subscribe()
    }

    /// Tells watchers that another replica committed `revision`.
    pub fn revision_seen(&self, revision: u64) {
        self.revision.send_if_modified(|current| {
            let newer = revision > *current;
            if newer {
                *current = revision;
            }
            newer
        });
    }

    /// Receives a tick whenever an audit event or a run is stored here.
    pub fn watch_activity(&self) -> watch::Receiver<u64> {
        self.activity.subscribe()
    }

    pub(crate) fn activity_seen(&self) {
        self.activity.send_modify(|n| *n += 1);
    }

    /// The tenants whose flows changed after `revision`, each with the
    /// newest revision that changed it, oldest first.
    pub async fn changes_after(&self, revision: u64) -> Result<Vec<(u64, String)>, Error> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT MAX(revision), tenant_id FROM flow_changes WHERE revision > $1 \
             GROUP BY tenant_id ORDER BY MAX(revision)",
        )
        .bind(revision as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(r, t)| (r as u64, t)).collect())
    }
}

impl Write<'_> {
    /// The transaction, for one statement (counted).
    pub(crate) fn tx(&mut self) -> Counted<'_, &mut AnyConnection> {
        Counted {
            inner: &mut *self.tx,
            queries: &self.store.queries,
        }
    }

    /// Commits.
    pub(crate) async fn commit(self) -> Result<(), Error> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl FlowChange<'_> {
    /// The transaction, to make the change in (one statement, counted).
    pub(crate) fn tx(&mut self) -> Counted<'_, &mut AnyConnection> {
        self.write.tx()
    }

    /// Commits, then wakes every watcher of this process. On PostgreSQL
    /// the other replicas learn of it through `NOTIFY`.
    pub(crate) async fn commit(mut self) -> Result<u64, Error> {
        let store = self.write.store;
        if store.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify('actions_flows', $1)")
                .bind(self.revision.to_string())
                .execute(self.write.tx())
                .await?;
        }
        self.write.commit().await?;
        store.revision_seen(self.revision);
        store.activity_seen();
        Ok(self.revision)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Store {
    /// Follows the revisions other replicas commit (PostgreSQL `LISTEN`), for
    /// as long as the process lives; watchers also poll, so a lost
    /// notification delays a change by at most a poll interval.
    pub async fn follow_other_replicas(self, url: String) {
        if self.backend != Backend::Postgres {
            return;
        }
        let mut backoff = Duration::from_millis(200);
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => {
                    if let Err(error) = listener.listen("actions_flows").await {
                        tracing::warn!(%error, "LISTEN actions_flows failed");
                    } else {
                        backoff = Duration::from_millis(200);
                        while let Ok(notification) = listener.recv().await {
                            if let Ok(revision) = notification.payload().parse::<u64>() {
                                self.revision_seen(revision);
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot listen for other replicas' changes"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

/// A query put together from this module's constant fragments; values are
/// always bound, never formatted in.
pub(crate) fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}
