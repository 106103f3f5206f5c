//! The runner's one link to the control plane (`RunnerSync`): flows watched
//! from it ([`watch`]), modules fetched by hash ([`modules`]), run records
//! pushed to it ([`push`]). When the control plane is unreachable the runner
//! keeps serving what it last applied, keeps spooling records, and
//! reconnects with backoff.
//!
//! This module does not know the runner's state: it applies flows through
//! [`FlowsTarget`], which the state implements.

pub mod modules;
pub mod push;
pub mod watch;

use crate::error::RunnerError;
use crate::flows::FlowSnapshot;
use crate::settings::RunnerSettings;
use actions_proto::bearer::BearerToken;
use actions_proto::controlplane::v1::runner_sync_client::RunnerSyncClient;
use std::path::Path;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

// Largest answer taken from the control plane: the largest it sends.
use actions_proto::sizes::MAX_RESPONSE_BYTES;

/// Why a call to the control plane failed or what it sent was refused.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The control plane could not be reached or broke the stream.
    #[error("control plane: {0}")]
    Transport(String),
    /// What it sent cannot be used by this runner.
    #[error("update refused: {0}")]
    Invalid(String),
}

impl From<tonic::Status> for SyncError {
    fn from(status: tonic::Status) -> Self {
        SyncError::Transport(format!("{:?}: {}", status.code(), status.message()))
    }
}

impl From<tonic::transport::Error> for SyncError {
    fn from(error: tonic::transport::Error) -> Self {
        SyncError::Transport(error.to_string())
    }
}

impl From<RunnerError> for SyncError {
    fn from(error: RunnerError) -> Self {
        SyncError::Invalid(error.to_string())
    }
}

/// What the watch applies flows to: the runner's state.
pub trait FlowsTarget: Send + Sync + 'static {
    /// The runner's name, told to the control plane.
    fn runner_id(&self) -> &str;
    /// The snapshot served now.
    fn current_snapshot(&self) -> FlowSnapshot;
    /// Where modules are kept; fetched ones are written there.
    fn modules_dir(&self) -> &Path;
    /// Loads every module of `snapshot` and serves it. Blocking.
    fn install(&self, snapshot: FlowSnapshot) -> Result<(), RunnerError>;
}

/// The control plane as this runner reaches it.
#[derive(Debug, Clone)]
pub struct ControlPlaneLink {
    url: String,
    sync_token: String,
}

/// A RunnerSync client that presents the sync token.
pub type SyncClient = RunnerSyncClient<InterceptedService<Channel, BearerToken>>;

impl ControlPlaneLink {
    /// The control plane at `url`, presenting `sync_token` on every call.
    pub fn new(url: impl Into<String>, sync_token: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            sync_token: sync_token.into(),
        }
    }

    /// The control plane the settings name, if any.
    pub fn from_settings(settings: &RunnerSettings) -> Option<Self> {
        settings
            .control_plane
            .as_ref()
            .map(|url| Self::new(url.clone(), settings.sync_token.clone()))
    }

    /// Connects.
    pub async fn connect(&self) -> Result<SyncClient, SyncError> {
        let auth = BearerToken::new(&self.sync_token)
            .map_err(|e| SyncError::Invalid(format!("sync_token: {e}")))?;
        let channel = tonic::transport::Endpoint::from_shared(self.url.clone())
            .map_err(|e| SyncError::Transport(format!("{}: {e}", self.url)))?
            .connect()
            .await?;
        Ok(RunnerSyncClient::with_interceptor(channel, auth)
            .max_decoding_message_size(MAX_RESPONSE_BYTES))
    }
}
