//! Admission: which calls may take a pool slot now, so that no tenant takes
//! the capacity others need.
//!
//! The pool's slots are split into two lanes: production (`Execute`) and
//! test runs (`ExecuteAction`, `ExecuteBindings`), so that tests never take
//! a sign-in's slot. In each lane a tenant holds at most its share of
//! calls at once; a call over the share (or finding the lane full) waits in
//! its tenant's bounded queue for at most the configured wait, in arrival
//! order, and past that is refused with [`Overloaded`]: a fast, typed
//! answer the caller can retry elsewhere, never a run that fails.
//!
//! A call holds one [`Permit`] from before its first binding runs until its
//! record is spooled; its bindings run one after another, each in one pool
//! slot, so a permit covers exactly one slot and the pool is never asked
//! for more than it has.
//!
//! Each tenant with calls in flight in a lane also has a [`CpuShare`]: its
//! long runs take turns in it (see [`crate::sandbox::LONG_RUN_AFTER`]).

use crate::sandbox::CpuShare;
use actions_proto::overload::{Lane, Scope};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Semaphore, oneshot};

/// The capacity of one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneLimits {
    /// Calls in flight at once in the lane, all tenants together.
    pub capacity: usize,
    /// Calls in flight at once per tenant.
    pub per_tenant: usize,
    /// Calls per tenant waiting for room; more are refused at once.
    pub queue_per_tenant: usize,
}

/// How calls are admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// `Execute`.
    pub production: LaneLimits,
    /// Test runs.
    pub test: LaneLimits,
    /// Longest a call waits for room before it is refused.
    pub max_wait: Duration,
    /// When a refused caller may come back to this runner.
    pub retry_after: Duration,
}

/// A call was refused for want of room: nothing ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(*.scope, *.lane, *.waited))]
pub struct Overloaded {
    /// What was full.
    pub scope: Scope,
    /// In which lane.
    pub lane: Lane,
    /// How long the call waited before it was refused.
    pub waited: Duration,
    /// When the caller may come back to this runner.
    pub retry_after: Duration,
}

fn describe(scope: Scope, lane: Lane, waited: Duration) -> String {
    let what = match lane {
        Lane::Production => "runs",
        Lane::Test => "test runs",
    };
    let full = match scope {
        Scope::Tenant => format!("the tenant has its whole share of this runner's {what}"),
        Scope::Runner => format!("this runner has no room for more {what}"),
    };
    format!(
        "overloaded: {full} (waited {} ms); nothing ran, retry on another runner",
        waited.as_millis()
    )
}

/// Hands out permits; one per runner.
pub struct Admission {
    limits: AdmissionLimits,
    lanes: Arc<Mutex<Lanes>>,
}

/// Held by an admitted call; dropping it makes room for the next.
pub struct Permit {
    lanes: Arc<Mutex<Lanes>>,
    lane: Lane,
    tenant: String,
    cpu: CpuShare,
}

impl Permit {
    /// The tenant's turn at the CPU for long runs.
    pub fn cpu_share(&self) -> &CpuShare {
        &self.cpu
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut lanes = lock(&self.lanes);
        lanes.get(self.lane).release(&self.tenant);
    }
}

struct Lanes {
    production: LaneState,
    test: LaneState,
    next_waiter: u64,
}

impl Lanes {
    fn get(&mut self, lane: Lane) -> &mut LaneState {
        match lane {
            Lane::Production => &mut self.production,
            Lane::Test => &mut self.test,
        }
    }
}

struct LaneState {
    limits: LaneLimits,
    running: usize,
    tenants: HashMap<String, TenantState>,
    /// In arrival order, all tenants together.
    waiters: VecDeque<Waiter>,
}

struct TenantState {
    running: usize,
    waiting: usize,
    cpu: CpuShare,
}

impl TenantState {
    fn new() -> Self {
        Self {
            running: 0,
            waiting: 0,
            cpu: Arc::new(Semaphore::new(1)),
        }
    }
}

struct Waiter {
    id: u64,
    tenant: String,
    granted: oneshot::Sender<CpuShare>,
}

impl LaneState {
    fn new(limits: LaneLimits) -> Self {
        Self {
            limits,
            running: 0,
            tenants: HashMap::new(),
            waiters: VecDeque::new(),
        }
    }

    fn has_room_for(&self, tenant: &str) -> bool {
        self.running < self.limits.capacity
            && self
                .tenants
                .get(tenant)
                .is_none_or(|t| t.running < self.limits.per_tenant)
    }

    /// Counts a call of `tenant` as running; returns its tenant's CPU share.
    fn take(&mut self, tenant: &str) -> CpuShare {
        self.running += 1;
        let state = self
            .tenants
            .entry(tenant.to_owned())
            .or_insert_with(TenantState::new);
        state.running += 1;
        Arc::clone(&state.cpu)
    }

    fn release(&mut self, tenant: &str) {
        self.running = self.running.saturating_sub(1);
        if let Some(state) = self.tenants.get_mut(tenant) {
            state.running = state.running.saturating_sub(1);
        }
        self.forget_if_idle(tenant);
        self.grant_waiters();
    }

    /// Gives the room there is to the waiters that fit, oldest first.
    fn grant_waiters(&mut self) {
        let mut at = 0;
        while at < self.waiters.len() && self.running < self.limits.capacity {
            if !self.has_room_for(&self.waiters[at].tenant) {
                at += 1;
                continue;
            }
            let Some(waiter) = self.waiters.remove(at) else {
                break;
            };
            if let Some(state) = self.tenants.get_mut(&waiter.tenant) {
                state.waiting = state.waiting.saturating_sub(1);
            }
            let cpu = self.take(&waiter.tenant);
            if waiter.granted.send(cpu).is_err() {
                // The caller went away meanwhile (its guard had not run yet).
                self.release_quietly(&waiter.tenant);
            }
        }
    }

    fn release_quietly(&mut self, tenant: &str) {
        self.running = self.running.saturating_sub(1);
        if let Some(state) = self.tenants.get_mut(tenant) {
            state.running = state.running.saturating_sub(1);
        }
        self.forget_if_idle(tenant);
    }

    /// Removes a waiter still queued; false if it was granted meanwhile.
    fn withdraw(&mut self, id: u64) -> bool {
        let Some(at) = self.waiters.iter().position(|w| w.id == id) else {
            return false;
        };
        if let Some(waiter) = self.waiters.remove(at) {
            if let Some(state) = self.tenants.get_mut(&waiter.tenant) {
                state.waiting = state.waiting.saturating_sub(1);
            }
            self.forget_if_idle(&waiter.tenant);
        }
        true
    }

    /// Keeps the map as small as the set of tenants with calls in flight.
    fn forget_if_idle(&mut self, tenant: &str) {
        if self
            .tenants
            .get(tenant)
            .is_some_and(|t| t.running == 0 && t.waiting == 0)
        {
            self.tenants.remove(tenant);
        }
    }

    fn scope_for(&self, tenant: &str) -> Scope {
        match self.tenants.get(tenant) {
            Some(t) if t.running >= self.limits.per_tenant => Scope::Tenant,
            _ => Scope::Runner,
        }
    }
}

fn lock(lanes: &Mutex<Lanes>) -> MutexGuard<'_, Lanes> {
    // Counts stay consistent under any panic elsewhere: no user code runs
    // while the lock is held.
    lanes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Withdraws a waiter whose call is dropped (the client went away, or the
/// wait ran out), and gives back a permit granted to it but never taken.
struct WaitGuard<'a> {
    lanes: &'a Arc<Mutex<Lanes>>,
    lane: Lane,
    tenant: &'a str,
    id: u64,
    granted: Option<oneshot::Receiver<CpuShare>>,
}

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        let mut lanes = lock(self.lanes);
        let lane = lanes.get(self.lane);
        if lane.withdraw(self.id) {
            return;
        }
        if let Some(mut granted) = self.granted.take()
            && granted.try_recv().is_ok()
        {
            lane.release(self.tenant);
        }
    }
}

impl Admission {
    /// Empty lanes with `limits`.
    pub fn new(limits: AdmissionLimits) -> Self {
        Self {
            lanes: Arc::new(Mutex::new(Lanes {
                production: LaneState::new(limits.production),
                test: LaneState::new(limits.test),
                next_waiter: 0,
            })),
            limits,
        }
    }

    /// The limits calls are admitted by.
    pub fn limits(&self) -> &AdmissionLimits {
        &self.limits
    }

    /// A permit for one call of `tenant` in `lane`: at once if there is
    /// room, after a wait of at most `max_wait` if its queue has a place,
    /// else [`Overloaded`].
    pub async fn admit(&self, tenant: &str, lane: Lane) -> Result<Permit, Overloaded> {
        let started = tokio::time::Instant::now();
        let overloaded = |scope| Overloaded {
            scope,
            lane,
            waited: started.elapsed(),
            retry_after: self.limits.retry_after,
        };
        let (id, receiver) = {
            let mut lanes = lock(&self.lanes);
            lanes.next_waiter += 1;
            let id = lanes.next_waiter;
            let state = lanes.get(lane);
            if state.has_room_for(tenant) {
                let cpu = state.take(tenant);
                return Ok(self.permit(lane, tenant, cpu));
            }
            let queue = state.limits.queue_per_tenant;
            let waiting = state.tenants.get(tenant).map_or(0, |t| t.waiting);
            if self.limits.max_wait.is_zero() || waiting >= queue {
                return Err(overloaded(state.scope_for(tenant)));
            }
            let (granted, receiver) = oneshot::channel();
            state
                .tenants
                .entry(tenant.to_owned())
                .or_insert_with(TenantState::new)
                .waiting += 1;
            state.waiters.push_back(Waiter {
                id,
                tenant: tenant.to_owned(),
                granted,
            });
            (id, receiver)
        };
        let mut guard = WaitGuard {
            lanes: &self.lanes,
            lane,
            tenant,
            id,
            granted: Some(receiver),
        };
        let waited = match guard.granted.as_mut() {
            Some(receiver) => tokio::time::timeout(self.limits.max_wait, receiver).await,
            None => return Err(overloaded(Scope::Runner)),
        };
        if let Ok(Ok(cpu)) = waited {
            guard.granted = None;
            return Ok(self.permit(lane, tenant, cpu));
        }
        // Out of time: withdraw, unless the grant came in just now.
        let mut lanes = lock(&self.lanes);
        let state = lanes.get(lane);
        if state.withdraw(id) {
            guard.granted = None;
            return Err(overloaded(state.scope_for(tenant)));
        }
        drop(lanes);
        match guard.granted.take().map(|mut r| r.try_recv()) {
            Some(Ok(cpu)) => Ok(self.permit(lane, tenant, cpu)),
            _ => Err(overloaded(Scope::Runner)),
        }
    }

    fn permit(&self, lane: Lane, tenant: &str, cpu: CpuShare) -> Permit {
        Permit {
            lanes: Arc::clone(&self.lanes),
            lane,
            tenant: tenant.to_owned(),
            cpu,
        }
    }

    /// Calls in flight in `lane`, all tenants together.
    pub fn running(&self, lane: Lane) -> usize {
        lock(&self.lanes).get(lane).running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(capacity: usize, per_tenant: usize, queue: usize, wait_ms: u64) -> AdmissionLimits {
        let lane = LaneLimits {
            capacity,
            per_tenant,
            queue_per_tenant: queue,
        };
        AdmissionLimits {
            production: lane,
            test: lane,
            max_wait: Duration::from_millis(wait_ms),
            retry_after: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn a_tenant_over_its_share_is_refused_while_another_is_admitted() {
        let admission = Admission::new(limits(4, 2, 0, 50));
        let _a1 = admission.admit("a", Lane::Production).await.expect("a1");
        let _a2 = admission.admit("a", Lane::Production).await.expect("a2");
        let refused = admission.admit("a", Lane::Production).await;
        assert!(matches!(
            refused,
            Err(Overloaded {
                scope: Scope::Tenant,
                ..
            })
        ));
        let _b = admission.admit("b", Lane::Production).await.expect("b");
        let _t = admission.admit("a", Lane::Test).await.expect("test lane");
    }

    #[tokio::test]
    async fn a_waiter_gets_the_room_a_finished_call_leaves() {
        let admission = Arc::new(Admission::new(limits(1, 1, 1, 5_000)));
        let first = admission.admit("a", Lane::Production).await.expect("first");
        let waiting = {
            let admission = Arc::clone(&admission);
            tokio::spawn(async move { admission.admit("b", Lane::Production).await.is_ok() })
        };
        while lock(&admission.lanes).production.waiters.is_empty() {
            tokio::task::yield_now().await;
        }
        assert!(
            admission.admit("b", Lane::Production).await.is_err(),
            "b's queue holds one"
        );
        drop(first);
        assert!(waiting.await.expect("join"), "the waiter was admitted");
        assert_eq!(admission.running(Lane::Production), 0);
        assert!(lock(&admission.lanes).production.tenants.is_empty());
    }

    #[tokio::test]
    async fn a_wait_that_runs_out_leaves_nothing_behind() {
        let admission = Admission::new(limits(1, 1, 4, 10));
        let held = admission.admit("a", Lane::Production).await.expect("held");
        let refused = admission.admit("b", Lane::Production).await;
        assert!(matches!(
            refused,
            Err(Overloaded {
                scope: Scope::Runner,
                ..
            })
        ));
        drop(held);
        let lanes = lock(&admission.lanes);
        assert!(lanes.production.waiters.is_empty());
        assert!(lanes.production.tenants.is_empty());
        assert_eq!(lanes.production.running, 0);
    }
}
