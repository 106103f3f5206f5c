//! Run records: every `Execute` leaves one, spooled to disk before the call
//! returns and pushed to the control plane at least once (idempotent by run
//! id), so that neither a control-plane outage nor a runner restart loses a
//! record.
//!
//! The spool is a folder of files, one per record (`<millis>-<run id>.rec`,
//! protobuf), written to a temporary name and renamed, so a killed runner
//! leaves whole records or none. It is bounded: past `max_records` the oldest
//! record is dropped and a warning logged. A file is deleted only when the
//! control plane has acknowledged its run id.

use crate::RunnerError;
use crate::slot::SlotRun;
use actions_proto::controlplane::v1::{self as cp, BindingRecord, RecordLogLine, RunRecord};
use prost::Message as _;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most bytes of log text kept per binding in a record.
const MAX_RECORD_LOG_BYTES: usize = 16 * 1024;
/// Records sent per push.
const PUSH_BATCH: usize = 256;

/// The on-disk spool.
pub struct RecordSpool {
    dir: PathBuf,
    max_records: usize,
    wake: tokio::sync::Notify,
}

impl RecordSpool {
    /// Opens (and creates) the spool folder; records left by an earlier
    /// process are kept and will be pushed.
    pub fn open(dir: &Path, max_records: usize) -> Result<Arc<Self>, RunnerError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            RunnerError::Config(format!("creating the record spool {}: {e}", dir.display()))
        })?;
        Ok(Arc::new(Self {
            dir: dir.to_owned(),
            max_records: max_records.max(1),
            wake: tokio::sync::Notify::new(),
        }))
    }

    /// Writes a record durably enough to survive the process (blocking I/O).
    pub fn append(&self, record: &RunRecord) -> std::io::Result<()> {
        let name = format!("{:013}-{}.rec", record.started_at_ms, record.run_id);
        let temporary = self.dir.join(format!(".{name}.tmp"));
        std::fs::write(&temporary, record.encode_to_vec())?;
        std::fs::rename(&temporary, self.dir.join(&name))?;
        let pending = self.pending();
        if pending.len() > self.max_records {
            for old in &pending[..pending.len() - self.max_records] {
                tracing::warn!(file = %old.display(), "record spool full: dropping the oldest record");
                let _ = std::fs::remove_file(old);
            }
        }
        self.wake.notify_one();
        Ok(())
    }

    /// Spooled record files, oldest first.
    pub fn pending(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "rec"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }
}

/// Builds the record of a slot run. Logs are capped and every secret value
/// the bindings were given is redacted from them.
pub fn record_of(
    run_id: &str,
    runner_id: &str,
    tenant: &str,
    trigger: &str,
    slot: &SlotRun,
    test: bool,
) -> RunRecord {
    let started_at_ms = SystemTime::now()
        .checked_sub(slot.duration)
        .unwrap_or_else(SystemTime::now)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    RunRecord {
        run_id: run_id.to_owned(),
        runner_id: runner_id.to_owned(),
        tenant: tenant.to_owned(),
        trigger: trigger.to_owned(),
        decision: slot.decision().into(),
        deny_reason: slot.deny_reason.clone().unwrap_or_default(),
        started_at_ms,
        duration_us: u64::try_from(slot.duration.as_micros()).unwrap_or(u64::MAX),
        test,
        bindings: slot
            .bindings
            .iter()
            .map(|run| {
                let secrets: Vec<&str> = run
                    .binding
                    .secrets
                    .values()
                    .filter_map(Value::as_str)
                    .filter(|s| s.len() >= 4)
                    .collect();
                let mut budget = MAX_RECORD_LOG_BYTES;
                let logs = run
                    .report
                    .iter()
                    .flat_map(|r| &r.logs)
                    .map_while(|line| {
                        let mut message = line.message.clone();
                        for secret in &secrets {
                            message = message.replace(secret, "[redacted]");
                        }
                        if budget == 0 {
                            return None;
                        }
                        if message.len() > budget {
                            let mut cut = budget;
                            while !message.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            message.truncate(cut);
                            message.push_str(" [cut: record log limit]");
                        }
                        budget = budget.saturating_sub(message.len());
                        Some(RecordLogLine {
                            level: line.level.as_str().into(),
                            origin: line.origin.as_str().into(),
                            message,
                            timestamp_ms: line.timestamp_ms,
                        })
                    })
                    .collect();
                BindingRecord {
                    binding_id: run.binding.id.clone(),
                    action_slug: run.binding.action_slug.clone(),
                    action_version: run.binding.action_version.clone(),
                    module_sha256: run.binding.module_sha256.clone(),
                    outcome: run
                        .report
                        .as_ref()
                        .map_or("skipped", |r| r.outcome.name())
                        .into(),
                    error: run
                        .report
                        .as_ref()
                        .and_then(|r| r.outcome.error_text())
                        .unwrap_or_default(),
                    failed_open: run.failed_open,
                    duration_us: run.report.as_ref().map_or(0, |r| {
                        u64::try_from(r.duration.as_micros()).unwrap_or(u64::MAX)
                    }),
                    fuel: run.report.as_ref().map_or(0, |r| r.fuel_consumed),
                    logs,
                }
            })
            .collect(),
    }
}

/// Pushes spooled records to the control plane for as long as the runner
/// lives, reconnecting with backoff (100 ms doubling to 5 s) whenever it is
/// unreachable.
pub async fn push_forever(spool: Arc<RecordSpool>, control_plane: crate::sync::ControlPlaneLink) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match push_pending(&spool, &control_plane).await {
            Ok(0) => {
                backoff = Duration::from_millis(100);
                let _ = tokio::time::timeout(Duration::from_secs(1), spool.wake.notified()).await;
            }
            Ok(_) => backoff = Duration::from_millis(100),
            Err(error) => {
                tracing::debug!(%error, retry_in_ms = backoff.as_millis() as u64, "pushing run records failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Sends one batch; returns how many records were acknowledged.
async fn push_pending(
    spool: &RecordSpool,
    control_plane: &crate::sync::ControlPlaneLink,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let files: Vec<PathBuf> = spool.pending().into_iter().take(PUSH_BATCH).collect();
    if files.is_empty() {
        return Ok(0);
    }
    let mut records = Vec::with_capacity(files.len());
    for file in &files {
        match std::fs::read(file).map(|bytes| RunRecord::decode(bytes.as_slice())) {
            Ok(Ok(record)) => records.push((file.clone(), record)),
            // A record that cannot be read back would block the spool forever.
            Ok(Err(error)) => {
                tracing::error!(file = %file.display(), %error, "dropping an unreadable run record");
                let _ = std::fs::remove_file(file);
            }
            Err(error) => return Err(error.into()),
        }
    }
    let mut client = control_plane.connect().await?;
    let outgoing: Vec<RunRecord> = records.iter().map(|(_, r)| r.clone()).collect();
    let mut acks = client
        .push_run_records(tokio_stream::iter(outgoing))
        .await?
        .into_inner();
    let mut acknowledged = HashSet::new();
    while let Some(ack) = acks.message().await? {
        let cp::RunRecordAck { run_id } = ack;
        acknowledged.insert(run_id);
    }
    let mut done = 0;
    for (file, record) in &records {
        if acknowledged.contains(&record.run_id) {
            let _ = std::fs::remove_file(file);
            done += 1;
        }
    }
    Ok(done)
}
