//! `Audit`: the audit trail and the run records, listed and tailed.

use super::convert;
use crate::page_tokens::Listing;
use crate::rules::check_slug;
use crate::store::{RunFilter, StatsWindow, now_ms};
use crate::{ControlPlane, Error};
use actions_proto::controlplane::v1::{self as pb, audit_server::Audit, tail_event::Event};
use actions_proto::runner::v1::{Decision, Outcome};
use actions_proto::sizes::PAGE_BYTES;
use prost::Message as _;
use std::sync::Arc;
use std::time::Duration;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// The `Audit` service.
pub struct AuditApi {
    cp: Arc<ControlPlane>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl AuditApi {
    /// Serves `cp`; streams end when `stopping` turns true.
    pub fn new(cp: Arc<ControlPlane>, stopping: tokio::sync::watch::Receiver<bool>) -> Self {
        Self { cp, stopping }
    }
}

/// How often a tail looks for what other replicas stored.
const TAIL_POLL: Duration = Duration::from_millis(500);

/// How far back a dashboard may look.
const MAX_STATS_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;

/// How many buckets a dashboard may ask for.
const MAX_STATS_BUCKETS: u64 = 1440;

/// The window a `GetRunStats` asks for, ending `now`, or why it may not.
fn stats_window(r: pb::GetRunStatsRequest, now: u64) -> Result<StatsWindow, Error> {
    let since_ms = match r.since_ms {
        0 => now.saturating_sub(60 * 60 * 1000),
        since if since > now => {
            return Err(Error::Invalid(format!(
                "since_ms {since} is in the future (now is {now})"
            )));
        }
        since if now - since > MAX_STATS_WINDOW_MS => {
            return Err(Error::Invalid(format!(
                "since_ms {since} is more than 24 hours ago; the window is at most 24 hours"
            )));
        }
        since => since,
    };
    let bucket_ms = match r.bucket_ms {
        0 => 60_000,
        width if width < 1000 => {
            return Err(Error::Invalid(format!(
                "bucket_ms {width} is under a second; buckets are at least 1000 ms wide"
            )));
        }
        width => width,
    };
    let buckets = now.saturating_sub(since_ms).div_ceil(bucket_ms).max(1);
    if buckets > MAX_STATS_BUCKETS {
        return Err(Error::Invalid(format!(
            "bucket_ms {bucket_ms} makes {buckets} buckets of the window; at most \
             {MAX_STATS_BUCKETS}: widen the buckets or shorten the window"
        )));
    }
    Ok(StatsWindow {
        since_ms,
        until_ms: since_ms + buckets * bucket_ms,
        bucket_ms,
    })
}

#[tonic::async_trait]
impl Audit for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        let size = convert::page_size(r.page_size);
        let before =
            self.cp
                .page_tokens
                .decode(Listing::AuditEvents, &caller.tenant, &r.page_token)?;
        let kind = (!r.kind.is_empty()).then_some(r.kind.as_str());
        let action = (!r.action_slug.is_empty()).then_some(r.action_slug.as_str());
        if let Some(slug) = action {
            check_slug("action_slug", slug)?;
        }
        let found = self
            .cp
            .store
            .audit_events(&caller.tenant, kind, action, before, size + 1)
            .await?;
        let more = found.len() > size as usize;
        let page: Vec<_> = found.into_iter().take(size as usize).collect();
        // The position is the trail's own order, never shown: the numbers
        // tenants see are their own.
        let next_page_token = match page.last() {
            Some(last) if more => {
                self.cp
                    .page_tokens
                    .encode(Listing::AuditEvents, &caller.tenant, last.seq)
            }
            _ => String::new(),
        };
        let events: Vec<pb::AuditEvent> = page.into_iter().map(convert::audit_event).collect();
        Ok(Response::new(pb::ListAuditEventsResponse {
            events,
            next_page_token,
        }))
    }

    async fn list_runs(
        &self,
        request: Request<pb::ListRunsRequest>,
    ) -> Result<Response<pb::ListRunsResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        // Enum values this build does not know are refused, not ignored:
        // an ignored filter would list runs the caller asked to leave out.
        let decision = Decision::try_from(r.decision).map_err(|_| {
            Error::Invalid(format!("decision {}: not a known decision", r.decision))
        })?;
        let outcome = Outcome::try_from(r.outcome)
            .map_err(|_| Error::Invalid(format!("outcome {}: not a known outcome", r.outcome)))?;
        let size = convert::page_size(r.page_size);
        let before = self
            .cp
            .page_tokens
            .decode(Listing::Runs, &caller.tenant, &r.page_token)?;
        let filter = RunFilter {
            flow: r.flow,
            trigger: r.trigger,
            action_slug: r.action_slug,
            decision: decision.name().to_owned(),
            outcome: outcome.name().to_owned(),
            since_ms: r.since_ms,
            until_ms: r.until_ms,
            include_tests: r.include_tests,
        };
        let found = self
            .cp
            .store
            .runs(&caller.tenant, &filter, before, size + 1)
            .await?;
        let mut more = found.len() > size as usize;
        // Whole runs up to the page's byte budget (at least one): runs with
        // large console output end a page early rather than past what a
        // client decodes.
        let mut page: Vec<(i64, pb::RunRecord)> = Vec::new();
        let mut bytes = 0;
        for (seq, run) in found.into_iter().take(size as usize) {
            bytes += run.encoded_len();
            if !page.is_empty() && bytes > PAGE_BYTES {
                more = true;
                break;
            }
            page.push((seq, run));
        }
        let next_page_token = match page.last() {
            Some((seq, _)) if more => {
                self.cp
                    .page_tokens
                    .encode(Listing::Runs, &caller.tenant, *seq)
            }
            _ => String::new(),
        };
        Ok(Response::new(pb::ListRunsResponse {
            runs: page.into_iter().map(|(_, run)| run).collect(),
            next_page_token,
        }))
    }

    async fn get_run(
        &self,
        request: Request<pb::GetRunRequest>,
    ) -> Result<Response<pb::RunRecord>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let run_id = request.into_inner().run_id;
        let run = self
            .cp
            .store
            .run(&caller.tenant, &run_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("run {run_id:?}")))?;
        Ok(Response::new(run))
    }

    async fn get_run_stats(
        &self,
        request: Request<pb::GetRunStatsRequest>,
    ) -> Result<Response<pb::RunStats>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let window = stats_window(request.into_inner(), now_ms() as u64)?;
        Ok(Response::new(
            self.cp.store.run_stats(&caller.tenant, window).await?,
        ))
    }

    type TailStream = ReceiverStream<Result<pb::TailEvent, Status>>;

    async fn tail(
        &self,
        request: Request<pb::TailRequest>,
    ) -> Result<Response<Self::TailStream>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        let (audit, runs) = if !r.audit && !r.runs {
            (true, true)
        } else {
            (r.audit, r.runs)
        };
        let store = self.cp.store.clone();
        let mut audit_seq = store.last_audit_seq().await?;
        let mut run_seq = store.last_run_seq().await?;
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        let mut stopping = self.stopping.clone();
        let revoked = super::until_revoked(
            store.clone(),
            self.cp.revocations(),
            Some(caller.token_id.clone()),
        );
        tokio::spawn(async move {
            let mut activity = store.watch_activity();
            tokio::pin!(revoked);
            loop {
                let mut events = Vec::new();
                if audit {
                    match store.audit_events_after(&caller.tenant, audit_seq).await {
                        Ok(found) => {
                            for event in found {
                                audit_seq = audit_seq.max(event.seq);
                                events.push(Ok(pb::TailEvent {
                                    event: Some(Event::Audit(convert::audit_event(event))),
                                }));
                            }
                        }
                        Err(error) => events.push(Err(Status::from(error))),
                    }
                }
                if runs {
                    match store.runs_after(&caller.tenant, run_seq).await {
                        Ok(found) => {
                            for (seq, run) in found {
                                run_seq = run_seq.max(seq);
                                events.push(Ok(pb::TailEvent {
                                    event: Some(Event::Run(run)),
                                }));
                            }
                        }
                        Err(error) => events.push(Err(Status::from(error))),
                    }
                }
                for event in events {
                    if sender.send(event).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    _ = activity.changed() => {}
                    _ = tokio::time::sleep(TAIL_POLL) => {}
                    _ = sender.closed() => return,
                    () = &mut revoked => {
                        let _ = sender.send(Err(super::revoked())).await;
                        return;
                    }
                    () = super::until_stopping(&mut stopping) => {
                        let _ = sender.send(Err(super::shutting_down())).await;
                        return;
                    }
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}
