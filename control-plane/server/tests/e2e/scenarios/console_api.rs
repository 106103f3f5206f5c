//! What the admin console relies on: its files and gRPC-Web on the control
//! plane's own port, unsaved sources run in the sandbox (the Test tab), and
//! compile errors located in typed status details (the editor's markers).

use super::{POST_LOGIN, create, login_event, source};
use crate::harness::{CONSOLE_INDEX, Harness};
use actions_proto::controlplane::v1 as pb;
use actions_proto::details::source_problem;
use actions_proto::runner::v1::{Decision, Outcome};
use actions_test_support::auth;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

/// One HTTP/1.1 exchange on a fresh connection: the head and the body bytes.
async fn http1(h: &Harness, request: Vec<u8>) -> (String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(h.cp_address)
        .await
        .expect("connect");
    stream.write_all(&request).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&answer[..split]).to_lowercase();
    (head, answer[split + 4..].to_vec())
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: console\r\nConnection: close\r\n\r\n").into_bytes()
}

pub async fn the_console_and_grpc_web_share_the_control_planes_port(h: &Harness) {
    let (head, body) = http1(h, get("/")).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, CONSOLE_INDEX.as_bytes());
    assert!(
        head.contains("content-security-policy: default-src 'self'"),
        "{head}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");

    let (head, body) = http1(h, get("/assets/app.js")).await;
    assert!(head.contains("content-type: text/javascript"), "{head}");
    assert_eq!(body, b"console.log('app');");

    // A route of the app (the browser routes it) gets the app.
    let (head, body) = http1(h, get("/actions/some-slug")).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, CONSOLE_INDEX.as_bytes());

    // gRPC-Web over HTTP/1.1, as the browser calls it: an empty ListActions.
    let token = h.tenant("webby").await;
    let frame = [0u8, 0, 0, 0, 0];
    let mut request = format!(
        "POST /actions.controlplane.v1.Actions/ListActions HTTP/1.1\r\nHost: console\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        frame.len()
    )
    .into_bytes();
    request.extend_from_slice(&frame);
    let (head, body) = http1(h, request).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("content-type: application/grpc-web"),
        "{head}"
    );
    let text = String::from_utf8_lossy(&body).to_lowercase();
    assert!(text.contains("grpc-status:0"), "{text}");

    // The same call without a token is refused, in gRPC-Web's terms.
    let mut request = format!(
        "POST /actions.controlplane.v1.Actions/ListActions HTTP/1.1\r\nHost: console\r\n\
         Content-Type: application/grpc-web+proto\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        frame.len()
    )
    .into_bytes();
    request.extend_from_slice(&frame);
    let (head, body) = http1(h, request).await;
    let all = format!("{head}{}", String::from_utf8_lossy(&body).to_lowercase());
    assert!(
        all.contains(&format!("grpc-status: {}", Code::Unauthenticated as i32))
            || all.contains(&format!("grpc-status:{}", Code::Unauthenticated as i32)),
        "{all}"
    );
}

pub async fn unsaved_sources_run_in_the_sandbox_and_compile_errors_are_located(h: &Harness) {
    let token = h.tenant("editor").await;
    let schema = json!({ "type": "object", "required": ["value"], "properties": { "value": { "type": "string" } } }).to_string();
    let request = |text: &str, config: serde_json::Value| pb::TestSourceRequest {
        source: Some(source(text)),
        trigger: POST_LOGIN.into(),
        event_json: login_event("t@t.t"),
        config_json: config.to_string(),
        config_schema_json: schema.clone(),
        ..Default::default()
    };
    let good = "export async function execute(event, api) {\n  console.log('unsaved', event.config.value);\n  api.accessToken.setCustomClaim('https://x/v', event.config.value);\n}\n";
    let answer = h
        .tests()
        .test_source(auth(request(good, json!({ "value": "x" })), &token))
        .await
        .expect("an unsaved source runs")
        .into_inner();
    assert_eq!(answer.decision(), Decision::Allow);
    assert_eq!(answer.bindings[0].outcome(), Outcome::Allowed);
    assert_eq!(answer.bindings[0].logs[0].message, "unsaved x");
    let claims: serde_json::Value =
        serde_json::from_str(&answer.access_token_claims_json).expect("claims");
    assert_eq!(claims["https://x/v"], "x");
    // Nothing was saved: the tenant still has no Action.
    let actions = h
        .actions()
        .list_actions(auth(pb::ListActionsRequest::default(), &token))
        .await
        .expect("list")
        .into_inner();
    assert!(actions.actions.is_empty(), "{actions:?}");

    // A syntax error on line 3, column 13, in the test and in a save alike.
    let broken = "export async function execute(event, api) {\n  // fine\n  const x = ;\n}\n";
    let refused = h
        .tests()
        .test_source(auth(request(broken, json!({ "value": "x" })), &token))
        .await
        .expect_err("does not compile");
    assert_eq!(refused.code(), Code::InvalidArgument);
    let problem = source_problem(&refused).expect("a located problem");
    assert_eq!(
        (problem.file.as_str(), problem.line, problem.column),
        ("src/index.ts", 3, 13),
        "{problem:?}"
    );
    assert!(!problem.message.is_empty());
    let refused = create(h, &token, "broken", &[POST_LOGIN], "", source(broken))
        .await
        .expect_err("does not compile");
    assert_eq!(source_problem(&refused).map(|p| p.line), Some(3));
    // An error with no place (no such trigger) carries no problem.
    let unplaced = h
        .tests()
        .test_source(auth(
            pb::TestSourceRequest {
                trigger: "nope".into(),
                ..request(good, json!({ "value": "x" }))
            },
            &token,
        ))
        .await
        .expect_err("no such trigger");
    assert_eq!(unplaced.code(), Code::InvalidArgument);
    assert_eq!(source_problem(&unplaced), None);

    // The config is checked against the schema given, as for saved versions.
    for (config, schema, code) in [
        (
            json!({ "value": 1 }),
            schema.clone(),
            Code::FailedPrecondition,
        ),
        (json!({}), schema.clone(), Code::FailedPrecondition),
        (
            json!({ "value": "x" }),
            "{\"type\": 7}".to_owned(),
            Code::InvalidArgument,
        ),
    ] {
        let refused = h
            .tests()
            .test_source(auth(
                pb::TestSourceRequest {
                    config_schema_json: schema,
                    ..request(good, config)
                },
                &token,
            ))
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), code, "{refused:?}");
    }
    let anonymous = h
        .tests()
        .test_source(tonic::Request::new(request(good, json!({ "value": "x" }))))
        .await
        .expect_err("no token");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
}
