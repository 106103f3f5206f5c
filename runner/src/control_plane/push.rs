//! Run records pushed from the spool to the control plane
//! (`RunnerSync.PushRunRecords`), oldest segment first, at least once: a
//! segment is deleted only once every record in it is acknowledged or set
//! aside.
//!
//! A record the control plane refuses (`INVALID_ARGUMENT`, or `OUT_OF_RANGE`
//! for a message over its size limit) would be refused on every retry and
//! hold back every record behind it, whichever tenant they belong to. So a
//! push that ends in a refusal is retried one record at a time until the
//! refused record is found; that one is set aside (`spool::set_aside`) and
//! the rest go on in batches. Any other failure (the control plane down,
//! its database failing) is retried later with the whole segment: nothing
//! is set aside for a failure that is not the record's.

use super::{ControlPlaneLink, SyncClient};
use crate::spool::{RecordSpool, SEAL_AFTER, read_segment};
use actions_proto::controlplane::v1 as cp;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tonic::{Code, Status};

/// Pushes spooled records to the control plane for as long as the runner
/// lives, reconnecting with backoff (100 ms doubling to 5 s) whenever it is
/// unreachable.
pub async fn push_forever(spool: Arc<RecordSpool>, control_plane: ControlPlaneLink) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match push_pending(&spool, &control_plane).await {
            Ok(0) => {
                backoff = Duration::from_millis(100);
                let _ = tokio::time::timeout(SEAL_AFTER, spool.wake.notified()).await;
                spool.seal_due();
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

/// Whether the control plane refused what was sent, rather than failed:
/// sending the same record again would be refused again.
fn is_refusal(status: &Status) -> bool {
    matches!(status.code(), Code::InvalidArgument | Code::OutOfRange)
}

/// Pushes the oldest sealed segment; returns how many records were
/// acknowledged or set aside. The segment is deleted once that is all of them.
async fn push_pending(
    spool: &RecordSpool,
    control_plane: &ControlPlaneLink,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let Some(segment) = spool.oldest_sealed() else {
        return Ok(0);
    };
    let segment_for_read = segment.clone();
    let read = tokio::task::spawn_blocking(move || read_segment(&segment_for_read)).await?;
    let mut pending = match read {
        Ok(records) => records,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            // Dropped by the writer for room meanwhile.
            spool.forget(&segment);
            return Ok(0);
        }
        // A segment that cannot be read back would block the spool forever.
        Err(error) => {
            tracing::error!(file = %segment.display(), %error, "dropping an unreadable spool segment");
            let _ = std::fs::remove_file(&segment);
            spool.forget(&segment);
            return Ok(0);
        }
    };
    let total = pending.len();
    let mut client = control_plane.connect().await?;
    // After a refusal: one record per push, until the refused one is found.
    let mut one_at_a_time = false;
    while !pending.is_empty() {
        let sent = if one_at_a_time { 1 } else { pending.len() };
        let (acknowledged, ended) = push(&mut client, pending[..sent].to_vec()).await;
        let before = pending.len();
        pending.retain(|r| !acknowledged.contains(r.run_id()));
        let refused = match ended {
            Ok(()) if pending.len() + sent == before => continue,
            Err(status) if is_refusal(&status) => status,
            Ok(()) => {
                return Err(format!(
                    "the control plane acknowledged {} of the {sent} records sent from {}",
                    before - pending.len(),
                    segment.display()
                )
                .into());
            }
            Err(status) => return Err(Box::new(status)),
        };
        if sent > 1 {
            one_at_a_time = true;
            continue;
        }
        let record = pending.remove(0);
        spool.set_aside(&record, refused.message());
        spool.rewrite(&segment, &pending)?;
        one_at_a_time = false;
    }
    let _ = std::fs::remove_file(&segment);
    spool.forget(&segment);
    Ok(total.max(1))
}

/// Sends `records` in one stream: the run ids acknowledged, and how the
/// stream ended.
async fn push(
    client: &mut SyncClient,
    records: Vec<cp::RunRecord>,
) -> (HashSet<String>, Result<(), Status>) {
    let mut acknowledged = HashSet::new();
    let mut acks = match client.push_run_records(tokio_stream::iter(records)).await {
        Ok(acks) => acks.into_inner(),
        Err(status) => return (acknowledged, Err(status)),
    };
    loop {
        match acks.message().await {
            Ok(Some(cp::RunRecordAck { run_id })) => {
                acknowledged.insert(run_id);
            }
            Ok(None) => return (acknowledged, Ok(())),
            Err(status) => return (acknowledged, Err(status)),
        }
    }
}
