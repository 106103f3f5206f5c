//! What every Actions binary shares: logs to stderr (`RUST_LOG`), spans and
//! metrics over OTLP/gRPC when the standard `OTEL_*` variables say so, and
//! the signal to stop on. Libraries record through `tracing` and the global
//! OpenTelemetry API, which do nothing until a binary calls [`init`].

use opentelemetry::global;
use opentelemetry::propagation::Extractor;
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

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

/// Resolves on Ctrl-C or SIGTERM: when a binary should drain and stop.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight calls");
}
