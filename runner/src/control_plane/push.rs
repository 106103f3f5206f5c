//! Run records pushed from the spool to the control plane
//! (`RunnerSync.PushRunRecords`), oldest segment first, at least once: a
//! segment is deleted only once every record in it is acknowledged.

use super::ControlPlaneLink;
use crate::spool::{RecordSpool, SEAL_AFTER, read_segment};
use actions_proto::controlplane::v1 as cp;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

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

/// Pushes the oldest sealed segment; returns how many records were
/// acknowledged. The segment is deleted once every record in it is.
async fn push_pending(
    spool: &RecordSpool,
    control_plane: &ControlPlaneLink,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let Some(segment) = spool.oldest_sealed() else {
        return Ok(0);
    };
    let segment_for_read = segment.clone();
    let read = tokio::task::spawn_blocking(move || read_segment(&segment_for_read)).await?;
    let records = match read {
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
    let expected: HashSet<String> = records.iter().map(|r| r.run_id().to_owned()).collect();
    let mut client = control_plane.connect().await?;
    let mut acks = client
        .push_run_records(tokio_stream::iter(records))
        .await?
        .into_inner();
    let mut acknowledged = HashSet::new();
    while let Some(ack) = acks.message().await? {
        let cp::RunRecordAck { run_id } = ack;
        acknowledged.insert(run_id);
    }
    if expected.is_subset(&acknowledged) {
        let _ = std::fs::remove_file(&segment);
        spool.forget(&segment);
        Ok(expected.len().max(1))
    } else {
        Err(format!(
            "the control plane acknowledged {} of the {} records of {}",
            expected.intersection(&acknowledged).count(),
            expected.len(),
            segment.display()
        )
        .into())
    }
}
