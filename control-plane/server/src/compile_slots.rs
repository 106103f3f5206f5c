//! Compiles share the machine fairly: a bounded number run at once, each
//! tenant may run only a share of them and queue only a few more, and a
//! wait is bounded. One tenant uploading in a loop leaves the others' saves
//! and test runs compiling.

use crate::Error;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How compiles are shared.
#[derive(Debug, Clone, Copy)]
pub struct CompileShare {
    /// Compiles running at once, over every tenant.
    pub running: usize,
    /// Compiles one tenant may run at once.
    pub running_per_tenant: usize,
    /// Compiles one tenant may have running or waiting; past it, refused at once.
    pub queued_per_tenant: usize,
    /// How long a compile waits for its turn before it is refused.
    pub wait: Duration,
}

impl Default for CompileShare {
    /// As many compiles as cores (at least two), half of them per tenant,
    /// four in flight per tenant, and a 30 s wait.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let running = cores.max(2);
        Self {
            running,
            running_per_tenant: (running / 2).max(1),
            queued_per_tenant: 4,
            wait: Duration::from_secs(30),
        }
    }
}

struct TenantQueue {
    running: Arc<Semaphore>,
    in_flight: usize,
}

/// The slots compiles take; see [`CompileShare`].
pub struct CompileSlots {
    share: CompileShare,
    running: Arc<Semaphore>,
    tenants: Mutex<HashMap<String, TenantQueue>>,
}

/// A compile's turn: held until the compile ends, even when the caller has
/// stopped waiting for it.
pub struct CompileSlot {
    _tenant_permit: OwnedSemaphorePermit,
    _permit: OwnedSemaphorePermit,
    _in_flight: InFlight,
}

struct InFlight {
    slots: Arc<CompileSlots>,
    tenant: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut tenants = self.slots.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(queue) = tenants.get_mut(&self.tenant) {
            queue.in_flight -= 1;
            if queue.in_flight == 0 {
                tenants.remove(&self.tenant);
            }
        }
    }
}

impl CompileSlots {
    /// Slots shared as `share` says.
    pub fn new(share: CompileShare) -> Arc<Self> {
        Arc::new(Self {
            running: Arc::new(Semaphore::new(share.running.max(1))),
            share,
            tenants: Mutex::new(HashMap::new()),
        })
    }

    /// Waits for `tenant`'s turn, or refuses (`Error::Busy`) when the tenant
    /// already has its fill in flight or the wait runs out.
    pub async fn acquire(self: &Arc<Self>, tenant: &str) -> Result<CompileSlot, Error> {
        let tenant_running = {
            let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
            let queue = tenants
                .entry(tenant.to_owned())
                .or_insert_with(|| TenantQueue {
                    running: Arc::new(Semaphore::new(self.share.running_per_tenant.max(1))),
                    in_flight: 0,
                });
            if queue.in_flight >= self.share.queued_per_tenant {
                return Err(Error::Busy(format!(
                    "tenant {tenant:?} already has {} compiles in progress, the most it may \
                     have; wait for one to finish",
                    queue.in_flight
                )));
            }
            queue.in_flight += 1;
            Arc::clone(&queue.running)
        };
        let in_flight = InFlight {
            slots: Arc::clone(self),
            tenant: tenant.to_owned(),
        };
        let turn = async {
            let tenant_permit = tenant_running.acquire_owned().await;
            let permit = Arc::clone(&self.running).acquire_owned().await;
            (tenant_permit, permit)
        };
        match tokio::time::timeout(self.share.wait, turn).await {
            Ok((Ok(tenant_permit), Ok(permit))) => Ok(CompileSlot {
                _tenant_permit: tenant_permit,
                _permit: permit,
                _in_flight: in_flight,
            }),
            Ok(_) => Err(Error::Internal("the compile slots were closed".into())),
            Err(_) => Err(Error::Busy(format!(
                "the compiler had no free slot for {} s; retry shortly",
                self.share.wait.as_secs()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share() -> CompileShare {
        CompileShare {
            running: 2,
            running_per_tenant: 1,
            queued_per_tenant: 3,
            wait: Duration::from_millis(300),
        }
    }

    #[tokio::test]
    async fn a_tenant_runs_its_share_while_others_run_theirs() {
        let slots = CompileSlots::new(share());
        let first = slots.acquire("flood").await.expect("a first compile runs");
        // The flooding tenant's second compile waits for its first…
        let second = {
            let slots = Arc::clone(&slots);
            tokio::spawn(async move { slots.acquire("flood").await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "past its share, a compile waits");
        // …while another tenant's compile runs at once.
        let other = tokio::time::timeout(Duration::from_millis(50), slots.acquire("quiet"))
            .await
            .expect("another tenant does not wait")
            .expect("and is not refused");
        drop(first);
        second
            .await
            .expect("joined")
            .expect("the waiting compile runs once the first ends");
        drop(other);
    }

    #[tokio::test]
    async fn past_its_queue_a_tenant_is_refused_at_once_and_waits_are_bounded() {
        let slots = CompileSlots::new(share());
        let running = slots.acquire("flood").await.expect("runs");
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let slots = Arc::clone(&slots);
                tokio::spawn(async move { slots.acquire("flood").await.map(|_| ()) })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(matches!(slots.acquire("flood").await, Err(Error::Busy(_))));
        for waiter in waiting {
            assert!(
                matches!(waiter.await.expect("joined"), Err(Error::Busy(_))),
                "a wait past the bound is refused"
            );
        }
        drop(running);
        slots
            .acquire("flood")
            .await
            .expect("with nothing in flight, the tenant compiles again");
    }
}
