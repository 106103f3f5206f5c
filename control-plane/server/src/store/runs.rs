//! Run records from the runners: stored once per run id (delivery is at
//! least once), queryable per tenant, flow, trigger, action, outcome and time.

use super::{Store, Write, now_ms};
use crate::Error;
use actions_proto::controlplane::v1::RunRecord;
use actions_proto::record::decode_record;
use prost::Message;

/// What to list; every filter is optional.
#[derive(Debug, Default, Clone)]
pub struct RunFilter {
    /// `login` or `registration`.
    pub flow: String,
    /// A trigger slot.
    pub trigger: String,
    /// Runs in which this Action ran.
    pub action_slug: String,
    /// `allow` or `deny`.
    pub decision: String,
    /// Runs in which a binding had this outcome.
    pub outcome: String,
    /// Started at or after (ms).
    pub since_ms: u64,
    /// Started before (ms; 0: no bound).
    pub until_ms: u64,
    /// Include test runs.
    pub include_tests: bool,
}

impl Store {
    /// Stores a run record unless its run id is stored already. Returns
    /// whether it was new.
    pub async fn store_run(&self, record: &RunRecord, flow: &str) -> Result<bool, Error> {
        Ok(self.store_runs(&[(record, flow)]).await? == 1)
    }

    /// Stores run records (each with its flow) in one transaction, skipping
    /// run ids stored already; returns how many were new. One commit per
    /// batch rather than per record: under load the commit is the cost.
    pub async fn store_runs(&self, records: &[(&RunRecord, &str)]) -> Result<usize, Error> {
        let mut tx = self.write().await?;
        let mut new = 0;
        for (record, flow) in records {
            if insert_run(&mut tx, record, flow).await? {
                new += 1;
            }
        }
        tx.commit().await?;
        if new > 0 {
            self.activity_seen();
        }
        Ok(new)
    }

    /// A tenant's runs matching `filter`, newest first, before `before_seq`
    /// (0: from the newest), with each one's sequence number.
    pub async fn runs(
        &self,
        tenant: &str,
        filter: &RunFilter,
        before_seq: i64,
        limit: u32,
    ) -> Result<Vec<(i64, RunRecord)>, Error> {
        let before = if before_seq <= 0 {
            i64::MAX
        } else {
            before_seq
        };
        let until = if filter.until_ms == 0 {
            i64::MAX
        } else {
            filter.until_ms as i64
        };
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT r.seq, r.record FROM runs r WHERE r.tenant_id = $1 AND r.seq < $2 \
             AND ($3 = '' OR r.flow = $3) AND ($4 = '' OR r.trigger_name = $4) \
             AND ($5 = '' OR r.decision = $5) \
             AND r.started_at_ms >= $6 AND r.started_at_ms < $7 AND (r.test = 0 OR $8 = 1) \
             AND ($9 = '' OR EXISTS (SELECT 1 FROM run_bindings b WHERE b.run_seq = r.seq \
                 AND b.tenant_id = r.tenant_id AND b.action_slug = $9)) \
             AND ($10 = '' OR EXISTS (SELECT 1 FROM run_bindings b WHERE b.run_seq = r.seq \
                 AND b.tenant_id = r.tenant_id AND b.outcome = $10)) \
             ORDER BY r.seq DESC LIMIT $11",
        )
        .bind(tenant)
        .bind(before)
        .bind(&filter.flow)
        .bind(&filter.trigger)
        .bind(&filter.decision)
        .bind(filter.since_ms as i64)
        .bind(until)
        .bind(i64::from(filter.include_tests))
        .bind(&filter.action_slug)
        .bind(&filter.outcome)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        decode_all(rows)
    }

    /// One run of a tenant's.
    pub async fn run(&self, tenant: &str, run_id: &str) -> Result<Option<RunRecord>, Error> {
        let row: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT record FROM runs WHERE tenant_id = $1 AND run_id = $2")
                .bind(tenant)
                .bind(run_id)
                .fetch_optional(self.pool())
                .await?;
        row.map(|bytes| decode(&bytes)).transpose()
    }

    /// A tenant's runs (tests included) after `after_seq`, oldest first: the tail.
    pub async fn runs_after(
        &self,
        tenant: &str,
        after_seq: i64,
    ) -> Result<Vec<(i64, RunRecord)>, Error> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, record FROM runs WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT 500",
        )
        .bind(tenant)
        .bind(after_seq)
        .fetch_all(self.pool())
        .await?;
        decode_all(rows)
    }

    /// The newest run sequence number (0 when there is none).
    pub async fn last_run_seq(&self) -> Result<i64, Error> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM runs")
            .fetch_one(self.pool())
            .await?;
        Ok(seq.unwrap_or(0))
    }
}

/// A stored record, of today's shape or the one before (see
/// `actions_proto::record`), saying why it keeps no replay data when it
/// keeps none.
fn decode(bytes: &[u8]) -> Result<RunRecord, Error> {
    let mut record =
        decode_record(bytes).map_err(|e| Error::Internal(format!("a stored run record: {e}")))?;
    if record.replay.is_none() && record.replay_omitted.is_empty() {
        record.replay_omitted = "it was recorded before runners kept replay data".into();
    }
    Ok(record)
}

/// Records of a listing: without their replay data (an event and what the
/// run read, which only a replay needs; `GetRun` has it), so that a page
/// of runs stays small. `replay_omitted` still says whether it is kept.
fn decode_all(rows: Vec<(i64, Vec<u8>)>) -> Result<Vec<(i64, RunRecord)>, Error> {
    rows.into_iter()
        .map(|(seq, bytes)| {
            let mut record = decode(&bytes)?;
            record.replay = None;
            Ok((seq, record))
        })
        .collect()
}

/// Inserts one record unless its run id is stored; whether it was new.
async fn insert_run(tx: &mut Write<'_>, record: &RunRecord, flow: &str) -> Result<bool, Error> {
    let seq: Option<i64> = sqlx::query_scalar(
        "INSERT INTO runs (run_id, tenant_id, flow, trigger_name, decision, test, \
         started_at_ms, received_at_ms, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (run_id) DO NOTHING RETURNING seq",
    )
    .bind(record.run_id())
    .bind(&record.tenant)
    .bind(flow)
    .bind(&record.trigger)
    .bind(record.decision().name())
    .bind(i64::from(record.test))
    .bind(record.started_at_ms as i64)
    .bind(now_ms())
    .bind(record.encode_to_vec())
    .fetch_optional(tx.tx())
    .await?;
    let Some(seq) = seq else {
        return Ok(false);
    };
    for binding in record.bindings() {
        sqlx::query(
            "INSERT INTO run_bindings (run_seq, tenant_id, action_slug, outcome) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(seq)
        .bind(&record.tenant)
        .bind(&binding.action_slug)
        .bind(binding.outcome().name())
        .execute(tx.tx())
        .await?;
    }
    Ok(true)
}
