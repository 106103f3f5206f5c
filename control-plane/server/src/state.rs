//! What every service of the control plane shares.

use crate::auth::{Secrets, TenantCaller};
use crate::compile_slots::{CompileShare, CompileSlots};
use crate::page_tokens::PageTokens;
use crate::store::Store;
use crate::{Error, TestRunnerSettings};
use actions_compiler::{CompiledAction, Compiler, SourcePackage};
use actions_proto::bearer::ServingWithoutTokens;
use actions_proto::limits::CEILINGS;
use actions_proto::runner::v1::Limits;
use actions_proto::runner::v1::execution_client::ExecutionClient;
use std::sync::Arc;
use tonic::transport::{Channel, Endpoint};

/// The longest a caller waits for a compile to finish. Compiles are bounded
/// well within it (sizes, nesting, QuickJS's fuel): this is the ceiling
/// should any of those bounds be wrong.
pub const COMPILE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Revocations a stream may fall behind by before it must ask the store.
const REVOCATIONS_KEPT: usize = 64;

/// The control plane's state: the store, the compiler, the secrets, the
/// runner test runs go to, and the ceilings over bindings' limits.
pub struct ControlPlane {
    /// The data.
    pub store: Store,
    compiler: Arc<Compiler>,
    compile_slots: Arc<CompileSlots>,
    /// Operator and runner secrets.
    pub secrets: Secrets,
    test_runner: Option<(ExecutionClient<Channel>, String)>,
    binding_ceilings: Limits,
    console_dir: Option<std::path::PathBuf>,
    /// Page tokens of the listings over shared tables.
    pub page_tokens: PageTokens,
    /// The ids of tokens revoked on this replica, as they are revoked:
    /// streams opened with them end at once.
    revocations: tokio::sync::broadcast::Sender<String>,
    /// The operator's keys for Actions' secrets (see [`Self::open_secrets`]).
    pub(crate) sealing: Option<Arc<crate::sealing::SealingKeys>>,
}

impl ControlPlane {
    /// Prepares the compiler (about a second the first time; the plugin's
    /// machine code is cached in `cache_dir`) off the async threads.
    pub async fn new(
        store: Store,
        secrets: Secrets,
        cache_dir: Option<std::path::PathBuf>,
        test_runner: Option<&TestRunnerSettings>,
    ) -> Result<Self, Error> {
        let compiler = tokio::task::spawn_blocking(move || Compiler::new(cache_dir.as_deref()))
            .await
            .map_err(|e| Error::Internal(format!("preparing the compiler: {e}")))??;
        let test_runner = match test_runner {
            None => None,
            // Sending no token to a runner that wants one fails every test
            // run; to one that wants none, it is `insecure_no_auth`.
            Some(settings) if settings.token.is_empty() && !secrets.insecure_no_auth => {
                return Err(ServingWithoutTokens::MissingTokens {
                    missing: vec!["test_runner.token".into()],
                }
                .into());
            }
            Some(settings) => {
                let endpoint = Endpoint::from_shared(settings.url.clone()).map_err(|e| {
                    Error::Config(format!("test_runner.url {:?}: {e}", settings.url))
                })?;
                Some((
                    ExecutionClient::new(endpoint.connect_lazy()),
                    settings.token.clone(),
                ))
            }
        };
        Ok(Self {
            store,
            compiler: Arc::new(compiler),
            compile_slots: CompileSlots::new(CompileShare::default()),
            page_tokens: PageTokens::new(&secrets)?,
            secrets,
            test_runner,
            binding_ceilings: CEILINGS,
            console_dir: None,
            revocations: tokio::sync::broadcast::channel(REVOCATIONS_KEPT).0,
            sealing: None,
        })
    }

    /// The most a binding may ask for (by default
    /// `actions_proto::limits::CEILINGS`); see [`crate::BindingCeilings`].
    pub fn with_binding_ceilings(mut self, ceilings: Limits) -> Self {
        self.binding_ceilings = ceilings;
        self
    }

    /// Shares compiles as `share` says (by default [`CompileShare::default`]).
    pub fn with_compile_share(mut self, share: CompileShare) -> Self {
        self.compile_slots = CompileSlots::new(share);
        self
    }

    /// Serves the admin console's built files from `dir` beside the gRPC
    /// services (see [`crate::console`]).
    pub fn with_console(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.console_dir = dir;
        self
    }

    /// Where the console's files are, if it is served.
    pub fn console_dir(&self) -> Option<&std::path::Path> {
        self.console_dir.as_deref()
    }

    /// Refuses limits above the operator's ceilings, naming each one.
    pub fn check_limits(&self, limits: Option<&Limits>) -> Result<(), Error> {
        let over = limits.map_or_else(Vec::new, |l| l.over(&self.binding_ceilings));
        if over.is_empty() {
            Ok(())
        } else {
            Err(Error::OverCeilings(over))
        }
    }

    /// Tells the streams open on this replica that `token_id` is revoked.
    pub fn announce_revoked(&self, token_id: &str) {
        // No receiver: no stream is open, nothing to end.
        let _ = self.revocations.send(token_id.to_owned());
    }

    /// Revocations announced from now on (a receiver that falls behind
    /// gets `Lagged`, and must ask the store).
    pub fn revocations(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.revocations.subscribe()
    }

    /// The tenant of the call's token.
    pub async fn tenant<T>(&self, request: &tonic::Request<T>) -> Result<TenantCaller, Error> {
        self.secrets.tenant(&self.store, request.metadata()).await
    }

    /// Compiles for `tenant` on a blocking thread (compiling is CPU work),
    /// in its turn (see [`crate::compile_slots`]), and answers within
    /// [`COMPILE_TIME_LIMIT`]. A compile the caller stopped waiting for
    /// keeps its slot until it ends, so abandoned compiles cannot pile up.
    pub async fn compile(
        &self,
        tenant: &str,
        source: SourcePackage,
    ) -> Result<CompiledAction, Error> {
        let slot = self.compile_slots.acquire(tenant).await?;
        let compiler = Arc::clone(&self.compiler);
        let compiling = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            compiler.compile(&source)
        });
        match tokio::time::timeout(COMPILE_TIME_LIMIT, compiling).await {
            Ok(joined) => joined
                .map_err(|e| Error::Internal(format!("compiling: {e}")))?
                .map_err(Error::from),
            Err(_) => Err(Error::Invalid(format!(
                "compiling took longer than {} s; the source is too large or too complex",
                COMPILE_TIME_LIMIT.as_secs()
            ))),
        }
    }

    /// A client of the runner that test runs go to, with its token.
    pub fn test_runner(&self) -> Result<(ExecutionClient<Channel>, &str), Error> {
        self.test_runner
            .as_ref()
            .map(|(client, token)| (client.clone(), token.as_str()))
            .ok_or_else(|| {
                Error::FailedPrecondition(
                    "test runs need a runner: set [test_runner] url in the control plane's settings"
                        .into(),
                )
            })
    }
}
