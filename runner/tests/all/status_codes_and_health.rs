//! What the runner answers besides runs: bearer tokens, a clear status code
//! for every kind of bad call, gRPC health and reflection.

use crate::common::{Runner, binding, event, starter};
use actions_proto::runner::v1::{Decision, ExecuteRequest};
use actions_test_support::auth;
use serde_json::json;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_calls_get_clear_status_codes() {
    let runner = Runner::start(|m| json!({ "tenants": { "acme": { "slots": { "login.post-login": [binding("b", "empty", &starter(m, "empty"), json!({}), false, json!({}))] } } } }), &[], "s3cret").await;
    let mut client = runner.client().await;
    let call = |tenant: &str, trigger: &str, event_json: &str, token: Option<&str>| {
        let message = ExecuteRequest {
            tenant: tenant.into(),
            trigger: trigger.into(),
            event_json: event_json.into(),
            ..ExecuteRequest::default()
        };
        match token {
            Some(token) => auth(message, token),
            None => tonic::Request::new(message),
        }
    };
    let good_event = event("a@example.com", None);
    let status = client
        .execute(call("acme", "login.post-login", &good_event, None))
        .await
        .expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .execute(call("acme", "login.post-login", &good_event, Some("wrong")))
        .await
        .expect_err("bad token");
    assert_eq!(status.code(), Code::Unauthenticated);
    let ok = client
        .execute(call(
            "acme",
            "login.post-login",
            &good_event,
            Some("s3cret"),
        ))
        .await
        .expect("good token");
    assert_eq!(ok.into_inner().decision, Decision::Allow as i32);

    let status = client
        .execute(call(
            "globex",
            "login.post-login",
            &good_event,
            Some("s3cret"),
        ))
        .await
        .expect_err("unknown tenant");
    assert_eq!(
        (status.code(), status.message()),
        (Code::NotFound, "unknown tenant \"globex\"")
    );
    let status = client
        .execute(call("acme", "login.sideways", &good_event, Some("s3cret")))
        .await
        .expect_err("unknown trigger");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("unknown trigger \"login.sideways\"")
    );
    let status = client
        .execute(call(
            "acme",
            "login.post-login",
            "{not json",
            Some("s3cret"),
        ))
        .await
        .expect_err("bad event");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("event_json is not a JSON object")
    );
    let status = client
        .execute(call("acme", "login.post-login", "[1]", Some("s3cret")))
        .await
        .expect_err("not an object");
    assert_eq!(
        status.message(),
        "event_json is not a JSON object: got an array"
    );
    let huge = json!({ "user": { "id": "x".repeat(2 * 1024 * 1024) } }).to_string();
    let status = client
        .execute(call("acme", "login.post-login", &huge, Some("s3cret")))
        .await
        .expect_err("too large");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_answer() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let runner = Runner::start(|_| json!({ "tenants": {} }), &[], "").await;
    let channel = runner.channel().await;
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "actions.runner.v1.Execution".into(),
        })
        .await
        .expect("health answers")
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("stream")
        .expect("a response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer {response:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"actions.runner.v1.Execution"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    runner.stop().await;
}
