//! OpenTelemetry: a span per `Execute` and per binding, metrics of
//! executions, latency, outcomes, fuel and module-cache hits, exported over
//! OTLP/gRPC when the standard `OTEL_*` variables say so; the auth backend's
//! W3C trace context becomes the parent of the `execute` span.
//!
//! The library records through the global OpenTelemetry API, which does
//! nothing until a binary installs providers with [`init`] (from
//! `actions-telemetry`, shared by every binary).

use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::{KeyValue, global};

/// The runner's instruments.
pub struct Metrics {
    executions: Counter<u64>,
    latency_ms: Histogram<f64>,
    binding_outcomes: Counter<u64>,
    fuel: Histogram<u64>,
    module_loads: Counter<u64>,
    overloaded: Counter<u64>,
}

impl Metrics {
    /// Instruments on the global meter provider.
    pub fn new() -> Self {
        let meter = global::meter("actions-runner");
        Self {
            executions: meter
                .u64_counter("actions.executions")
                .with_description("Execute and ExecuteAction calls, by trigger and decision")
                .build(),
            latency_ms: meter
                .f64_histogram("actions.execute.duration")
                .with_unit("ms")
                .with_description("wall-clock time of a whole trigger slot")
                .build(),
            binding_outcomes: meter
                .u64_counter("actions.binding.outcomes")
                .with_description("binding runs, by outcome")
                .build(),
            fuel: meter
                .u64_histogram("actions.binding.fuel")
                .with_description("fuel consumed by one binding run")
                .build(),
            module_loads: meter
                .u64_counter("actions.module.loads")
                .with_description(
                    "module lookups for ExecuteAction, by cache result (hit or compiled)",
                )
                .build(),
            overloaded: meter
                .u64_counter("actions.admission.overloaded")
                .with_description(
                    "calls answered overloaded (nothing ran), by lane and by what was full",
                )
                .build(),
        }
    }

    /// Records one slot run.
    pub fn record_slot(&self, trigger: &str, slot: &crate::slot::SlotRun) {
        let decision = slot.decision();
        let attributes = [
            KeyValue::new("trigger", trigger.to_owned()),
            KeyValue::new("decision", decision),
        ];
        self.executions.add(1, &attributes);
        self.latency_ms
            .record(slot.duration.as_secs_f64() * 1000.0, &attributes);
        for run in &slot.bindings {
            let outcome = run.report.as_ref().map_or("skipped", |r| r.outcome.name());
            self.binding_outcomes
                .add(1, &[KeyValue::new("outcome", outcome)]);
            if let Some(report) = &run.report {
                self.fuel
                    .record(report.fuel_consumed, &[KeyValue::new("outcome", outcome)]);
            }
        }
    }

    /// Records a call refused for want of room.
    pub fn record_overloaded(&self, overloaded: &crate::admission::Overloaded) {
        self.overloaded.add(
            1,
            &[
                KeyValue::new("lane", overloaded.lane.as_str()),
                KeyValue::new("scope", overloaded.scope.as_str()),
            ],
        );
    }

    /// Records a module lookup.
    pub fn record_module_load(&self, cache_hit: bool) {
        self.module_loads.add(
            1,
            &[KeyValue::new(
                "result",
                if cache_hit { "hit" } else { "compiled" },
            )],
        );
    }
}

/// The spool's instruments: records it had to give up.
pub struct SpoolMetrics {
    dropped: Counter<u64>,
    rejected: Counter<u64>,
}

impl SpoolMetrics {
    /// Records dropped for room.
    pub fn dropped(&self, records: u64) {
        self.dropped.add(records, &[]);
    }

    /// Records the control plane refused, set aside.
    pub fn rejected(&self, records: u64) {
        self.rejected.add(records, &[]);
    }
}

impl Default for SpoolMetrics {
    fn default() -> Self {
        let meter = global::meter("actions-runner");
        Self {
            dropped: meter
                .u64_counter("actions.records.dropped")
                .with_description("run records dropped from a full spool, oldest first")
                .build(),
            rejected: meter
                .u64_counter("actions.records.rejected")
                .with_description("run records the control plane refused, set aside")
                .build(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

pub use actions_telemetry::{Telemetry, adopt_parent, init};
