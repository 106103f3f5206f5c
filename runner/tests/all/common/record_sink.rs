//! A fake control plane for the runner to sync with: the `RunnerSync`
//! service, keeping the run records the runner pushes, pushing the flow
//! updates a test publishes, and serving modules by hash.

use std::sync::{Arc, Mutex};
use std::time::Duration;

type UpdateSender =
    tokio::sync::mpsc::Sender<Result<actions_proto::controlplane::v1::FlowsUpdate, tonic::Status>>;

/// The control plane's side of `RunnerSync`, as issue "Control plane" will
/// serve it from its database: run records stored once per run id and
/// acknowledged; flow updates pushed by the test; modules served by hash.
#[derive(Clone, Default)]
pub struct RecordSink {
    pub records: Arc<Mutex<Vec<actions_proto::controlplane::v1::RunRecord>>>,
    pub watchers: Arc<Mutex<Vec<UpdateSender>>>,
    pub modules: Arc<Mutex<std::collections::HashMap<String, Vec<u8>>>>,
}

#[tonic::async_trait]
impl actions_proto::controlplane::v1::runner_sync_server::RunnerSync for RecordSink {
    type WatchFlowsStream = tokio_stream::wrappers::ReceiverStream<
        Result<actions_proto::controlplane::v1::FlowsUpdate, tonic::Status>,
    >;
    type PushRunRecordsStream = tokio_stream::Iter<
        std::vec::IntoIter<Result<actions_proto::controlplane::v1::RunRecordAck, tonic::Status>>,
    >;

    async fn watch_flows(
        &self,
        _: tonic::Request<actions_proto::controlplane::v1::WatchFlowsRequest>,
    ) -> Result<tonic::Response<Self::WatchFlowsStream>, tonic::Status> {
        let (sender, receiver) = tokio::sync::mpsc::channel(16);
        self.watchers.lock().expect("lock").push(sender);
        Ok(tonic::Response::new(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        ))
    }

    async fn fetch_module(
        &self,
        request: tonic::Request<actions_proto::controlplane::v1::FetchModuleRequest>,
    ) -> Result<tonic::Response<actions_proto::controlplane::v1::Module>, tonic::Status> {
        let sha256 = request.into_inner().sha256;
        let wasm = self.modules.lock().expect("lock").get(&sha256).cloned();
        match wasm {
            Some(wasm) => Ok(tonic::Response::new(
                actions_proto::controlplane::v1::Module {
                    sha256,
                    plugin_id: actions_plugin_host::plugin_id().to_owned(),
                    wasm,
                },
            )),
            None => Err(tonic::Status::not_found(format!("no module {sha256}"))),
        }
    }

    async fn push_run_records(
        &self,
        request: tonic::Request<tonic::Streaming<actions_proto::controlplane::v1::RunRecord>>,
    ) -> Result<tonic::Response<Self::PushRunRecordsStream>, tonic::Status> {
        let mut incoming = request.into_inner();
        let mut acks = Vec::new();
        while let Some(record) = incoming.message().await? {
            let mut records = self.records.lock().expect("lock");
            if !records.iter().any(|r| r.run_id() == record.run_id()) {
                records.push(record.clone());
            }
            acks.push(Ok(actions_proto::controlplane::v1::RunRecordAck {
                run_id: record.run_id().to_owned(),
            }));
        }
        Ok(tonic::Response::new(tokio_stream::iter(acks)))
    }
}

pub async fn start_sink(port: u16) -> (RecordSink, tokio::sync::oneshot::Sender<()>) {
    let sink = RecordSink::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the control plane port");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service =
        actions_proto::controlplane::v1::runner_sync_server::RunnerSyncServer::new(sink.clone());
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async {
                    let _ = stopped.await;
                },
            )
            .await;
    });
    (sink, stop)
}

/// The records the sink has, once it has at least `count`.
pub async fn wait_for_records(
    sink: &RecordSink,
    count: usize,
) -> Vec<actions_proto::controlplane::v1::RunRecord> {
    let started = std::time::Instant::now();
    loop {
        let records = sink.records.lock().expect("lock").clone();
        if records.len() >= count {
            return records;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "only {} of {count} records arrived",
            records.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
