//! Telemetry: spans and metrics reach an OTLP/gRPC collector, the run's
//! spans under the caller's trace.

use crate::common::{binding, connect_when_up, event, spawn_runner, starter};
use actions_proto::runner::v1::ExecuteRequest;
use actions_test_support::{cache_dir, free_port};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An OTLP/gRPC collector that keeps what it is sent.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<opentelemetry_proto::tonic::trace::v1::Span>>>,
    metrics: Arc<Mutex<Vec<String>>>,
}

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService
    for Collector
{
    async fn export(
        &self,
        request: tonic::Request<
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
        >,
    ) -> Result<
        tonic::Response<
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse,
        >,
        tonic::Status,
    > {
        let mut spans = self.spans.lock().expect("lock");
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::MetricsService
    for Collector
{
    async fn export(
        &self,
        request: tonic::Request<
            opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest,
        >,
    ) -> Result<
        tonic::Response<
            opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse,
        >,
        tonic::Status,
    > {
        let mut metrics = self.metrics.lock().expect("lock");
        for resource in request.into_inner().resource_metrics {
            for scope in resource.scope_metrics {
                metrics.extend(scope.metrics.into_iter().map(|m| m.name));
            }
        }
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_metrics_reach_an_otlp_collector_under_the_callers_trace() {
    use opentelemetry_proto::tonic::collector::{
        metrics::v1::metrics_service_server::MetricsServiceServer,
        trace::v1::trace_service_server::TraceServiceServer,
    };
    use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let collector_port = listener.local_addr().expect("address").port();
    let serving = collector.clone();
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(serving.clone()))
            .add_service(MetricsServiceServer::new(serving))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let modules = dir.path().join("modules");
    std::fs::create_dir_all(&modules).expect("mkdir");
    let sha = starter(&modules, "custom-claim");
    let flows_file = dir.path().join("flows.json");
    std::fs::write(&flows_file, json!({ "tenants": { "acme": { "slots": { "login.post-login": [binding("b", "custom-claim", &sha, json!({}), false, json!({}))] } } } }).to_string()).expect("write");
    let runner_port = free_port();
    let settings = dir.path().join("runner.toml");
    std::fs::write(
        &settings,
        format!("listen = \"127.0.0.1:{runner_port}\"\ninsecure_no_auth = true\nflows_file = \"{}\"\nmodules_dir = \"{}\"\ncache_dir = \"{}\"\n", flows_file.display(), modules.display(), cache_dir!().display()),
    )
    .expect("write settings");
    let mut runner = spawn_runner(
        &settings,
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{collector_port}"),
            ),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "300".into()),
        ],
    );
    let mut client = connect_when_up(runner_port).await;
    let started = std::time::Instant::now();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    client
        .execute(ExecuteRequest {
            tenant: "acme".into(),
            trigger: "login.post-login".into(),
            event_json: event("a@example.com", Some("gold")),
            traceparent: format!("00-{trace_id}-{parent_id}-01"),
            tracestate: String::new(),
        })
        .await
        .expect("execute succeeds");

    let (spans, metrics) = loop {
        let spans = collector.spans.lock().expect("lock").clone();
        let metrics = collector.metrics.lock().expect("lock").clone();
        if spans.iter().any(|s| s.name == "binding")
            && spans.iter().any(|s| s.name == "execute")
            && metrics.iter().any(|m| m == "actions.executions")
        {
            break (spans, metrics);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "spans {:?}, metrics {metrics:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    runner.kill().expect("kill");
    runner.wait().expect("reaped");

    let execute = spans
        .iter()
        .find(|s| s.name == "execute")
        .expect("execute span");
    assert_eq!(
        hex::encode(&execute.trace_id),
        trace_id,
        "the caller's trace"
    );
    assert_eq!(
        hex::encode(&execute.parent_span_id),
        parent_id,
        "the caller's span is the parent"
    );
    let binding = spans
        .iter()
        .find(|s| s.name == "binding")
        .expect("binding span");
    assert_eq!(binding.parent_span_id, execute.span_id);
    let attribute = |name: &str| {
        binding
            .attributes
            .iter()
            .find(|kv| kv.key == name)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.clone())
    };
    assert_eq!(
        attribute("action"),
        Some(AnyValue::StringValue("custom-claim".into()))
    );
    assert_eq!(
        attribute("outcome"),
        Some(AnyValue::StringValue("allowed".into()))
    );
    assert!(
        matches!(attribute("fuel"), Some(AnyValue::IntValue(fuel)) if fuel > 0),
        "{:?}",
        binding.attributes
    );
    for name in [
        "actions.executions",
        "actions.execute.duration",
        "actions.binding.outcomes",
        "actions.binding.fuel",
    ] {
        assert!(
            metrics.iter().any(|m| m == name),
            "{name} missing from {metrics:?}"
        );
    }
}
