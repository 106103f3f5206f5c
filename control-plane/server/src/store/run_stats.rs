//! What a tenant's dashboard draws: its recent runs counted per bucket of
//! time, and each Action's run times, read from the run records themselves
//! (durations live only there) with a bounded scan.

use super::Store;
use crate::Error;
use actions_proto::controlplane::v1::{ActionRunStats, RunRecord, RunStats, RunStatsBucket};
use actions_proto::record::decode_record;
use actions_proto::runner::v1::{Decision, Outcome};
use std::collections::BTreeMap;

/// Run records one answer reads at most, newest first; past them the
/// answer says it is truncated rather than reading the whole history.
pub const MAX_SCANNED_RUNS: u32 = 20_000;

/// The window and bucket width of a dashboard, checked by the caller.
#[derive(Debug, Clone, Copy)]
pub struct StatsWindow {
    /// Start, inclusive (ms).
    pub since_ms: u64,
    /// End, exclusive (ms).
    pub until_ms: u64,
    /// Bucket width (ms), above 0.
    pub bucket_ms: u64,
}

impl Store {
    /// The tenant's non-test runs that started in `window`, counted; at most
    /// [`MAX_SCANNED_RUNS`] of its newest records are read.
    pub async fn run_stats(&self, tenant: &str, window: StatsWindow) -> Result<RunStats, Error> {
        let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT started_at_ms, test, record FROM runs WHERE tenant_id = $1 \
             ORDER BY seq DESC LIMIT $2",
        )
        .bind(tenant)
        .bind(i64::from(MAX_SCANNED_RUNS))
        .fetch_all(self.pool())
        .await?;
        let scanned_all = rows.len() < MAX_SCANNED_RUNS as usize;
        let oldest_scanned = rows.last().map_or(0, |(started, _, _)| *started as u64);
        let mut records = Vec::new();
        for (started, test, bytes) in rows {
            let started = started as u64;
            if test != 0 || started < window.since_ms || started >= window.until_ms {
                continue;
            }
            records.push(
                decode_record(&bytes)
                    .map_err(|e| Error::Internal(format!("a stored run record: {e}")))?,
            );
        }
        let mut stats = count(window, &records);
        if !scanned_all && oldest_scanned > window.since_ms {
            stats.truncated = true;
            stats.counted_since_ms = oldest_scanned;
        }
        Ok(stats)
    }
}

/// Whether a binding's outcome is a failure (rather than a decision or a skip).
fn failed(outcome: Outcome) -> bool {
    !matches!(
        outcome,
        Outcome::Unspecified | Outcome::Allowed | Outcome::Denied | Outcome::Skipped
    )
}

/// The value at `quantile` (0..=1) of sorted `values`, nearest rank.
fn percentile(sorted: &[u64], quantile: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Counts `records` (all in `window`) into its buckets and per Action.
pub(crate) fn count(window: StatsWindow, records: &[RunRecord]) -> RunStats {
    let span = window.until_ms.saturating_sub(window.since_ms);
    let bucket_count = span.div_ceil(window.bucket_ms) as usize;
    let mut buckets: Vec<RunStatsBucket> = (0..bucket_count)
        .map(|i| RunStatsBucket {
            start_ms: window.since_ms + i as u64 * window.bucket_ms,
            ..RunStatsBucket::default()
        })
        .collect();
    let mut per_action: BTreeMap<&str, (ActionRunStats, Vec<u64>)> = BTreeMap::new();
    for record in records {
        let Some(response) = &record.response else {
            continue;
        };
        let index =
            (record.started_at_ms.saturating_sub(window.since_ms) / window.bucket_ms) as usize;
        let Some(bucket) = buckets.get_mut(index) else {
            continue;
        };
        let denied = response.decision() == Decision::Deny;
        bucket.runs += 1;
        bucket.denies += u64::from(denied);
        bucket.errors += u64::from(response.bindings.iter().any(|b| failed(b.outcome())));
        for binding in &response.bindings {
            if binding.outcome() == Outcome::Skipped {
                continue;
            }
            let (stats, durations) = per_action
                .entry(binding.action_slug.as_str())
                .or_insert_with(|| {
                    let stats = ActionRunStats {
                        action_slug: binding.action_slug.clone(),
                        ..ActionRunStats::default()
                    };
                    (stats, Vec::new())
                });
            stats.runs += 1;
            stats.denies += u64::from(binding.outcome() == Outcome::Denied);
            stats.errors += u64::from(failed(binding.outcome()));
            durations.push(binding.duration_us);
        }
    }
    let actions = per_action
        .into_values()
        .map(|(mut stats, mut durations)| {
            durations.sort_unstable();
            stats.p50_us = percentile(&durations, 0.5);
            stats.p99_us = percentile(&durations, 0.99);
            stats
        })
        .collect();
    RunStats {
        since_ms: window.since_ms,
        until_ms: window.until_ms,
        bucket_ms: window.bucket_ms,
        buckets,
        actions,
        truncated: false,
        counted_since_ms: window.since_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actions_proto::runner::v1::{BindingResult, ExecuteResponse};

    fn run(started_at_ms: u64, decision: Decision, bindings: &[(&str, Outcome, u64)]) -> RunRecord {
        RunRecord {
            started_at_ms,
            response: Some(ExecuteResponse {
                decision: decision as i32,
                bindings: bindings
                    .iter()
                    .map(|(slug, outcome, duration_us)| BindingResult {
                        action_slug: (*slug).into(),
                        outcome: *outcome as i32,
                        duration_us: *duration_us,
                        ..BindingResult::default()
                    })
                    .collect(),
                ..ExecuteResponse::default()
            }),
            ..RunRecord::default()
        }
    }

    #[test]
    fn runs_are_counted_per_bucket_and_per_action() {
        let window = StatsWindow {
            since_ms: 1_000,
            until_ms: 181_000,
            bucket_ms: 60_000,
        };
        let records = [
            run(
                1_000,
                Decision::Allow,
                &[("a", Outcome::Allowed, 10), ("b", Outcome::Allowed, 5)],
            ),
            run(
                59_999,
                Decision::Deny,
                &[("a", Outcome::Denied, 30), ("b", Outcome::Skipped, 0)],
            ),
            run(61_000, Decision::Deny, &[("a", Outcome::OutOfFuel, 20)]),
            run(200_000, Decision::Allow, &[("a", Outcome::Allowed, 99)]),
        ];
        let stats = count(window, &records);
        let counts: Vec<_> = stats
            .buckets
            .iter()
            .map(|b| (b.start_ms, b.runs, b.denies, b.errors))
            .collect();
        assert_eq!(
            counts,
            [(1_000, 2, 1, 0), (61_000, 1, 1, 1), (121_000, 0, 0, 0)]
        );
        let a = &stats.actions[0];
        assert_eq!(
            (a.action_slug.as_str(), a.runs, a.denies, a.errors),
            ("a", 3, 1, 1)
        );
        assert_eq!((a.p50_us, a.p99_us), (20, 30));
        let b = &stats.actions[1];
        assert_eq!((b.action_slug.as_str(), b.runs, b.p50_us), ("b", 1, 5));
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), 50);
        assert_eq!(percentile(&values, 0.99), 99);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
