//! OpenTelemetry: a span per `Execute` and per binding, metrics of
//! executions, latency, outcomes, fuel and module-cache hits, exported over
//! OTLP/gRPC when the standard `OTEL_*` variables say so; the auth backend's
//! W3C trace context becomes the parent of the `execute` span.
//!
//! The library records through the global OpenTelemetry API, which does
//! nothing until a binary installs providers with [`init`].

use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::propagation::Extractor;
use opentelemetry::{KeyValue, global};
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The runner's instruments.
pub struct Metrics {
    executions: Counter<u64>,
    latency_ms: Histogram<f64>,
    binding_outcomes: Counter<u64>,
    fuel: Histogram<u64>,
    module_loads: Counter<u64>,
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

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

struct TraceHeaders<'a>(HashMap<&'static str, &'a str>);

impl Extractor for TraceHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).copied()
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().copied().collect()
    }
}

/// Makes the caller's trace context (`traceparent`, `tracestate`) the parent of `span`.
pub fn adopt_parent(span: &tracing::Span, traceparent: &str, tracestate: &str) {
    if traceparent.is_empty() {
        return;
    }
    let headers = TraceHeaders(HashMap::from([
        ("traceparent", traceparent),
        ("tracestate", tracestate),
    ]));
    let parent = global::get_text_map_propagator(|propagator| propagator.extract(&headers));
    let _ = span.set_parent(parent);
}

/// What [`init`] installed; flushes and shuts the exporters down when dropped.
pub struct Telemetry {
    tracer: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    meter: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(tracer) = self.tracer.take() {
            let _ = tracer.shutdown();
        }
        if let Some(meter) = self.meter.take() {
            let _ = meter.shutdown();
        }
    }
}

/// Installs logging to stderr (`RUST_LOG`, default `info`) and, when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces/metrics-specific variable)
/// is set and `OTEL_SDK_DISABLED` is not `true`, OTLP/gRPC export of spans
/// and metrics. Call once, from a binary, inside a Tokio runtime.
pub fn init(
    service_name: &'static str,
) -> Result<Telemetry, Box<dyn std::error::Error + Send + Sync>> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let export_traces = !disabled
        && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
    let export_metrics = !disabled
        && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"));
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name)
        .build();

    global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let tracer = if export_traces {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()?;
        Some(
            opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource.clone())
                .build(),
        )
    } else {
        None
    };
    let meter = if export_metrics {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .build()?;
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_periodic_exporter(exporter)
            .with_resource(resource)
            .build();
        global::set_meter_provider(provider.clone());
        Some(provider)
    } else {
        None
    };

    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // Spans go to OTLP whatever RUST_LOG says about the console.
    let otel_layer = tracer.as_ref().map(|provider| {
        use opentelemetry::trace::TracerProvider as _;
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service_name))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .with(otel_layer)
        .try_init()?;
    Ok(Telemetry { tracer, meter })
}
