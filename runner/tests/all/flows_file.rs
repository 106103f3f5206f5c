//! Flows from a file: a changed file served within a second, a broken one
//! refused while the last good flows keep serving.

use crate::common::{Runner, binding, claims, event, execute, starter};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_flows_file_is_served_within_a_second() {
    let runner = Runner::start(
        |m| {
            let _ = starter(m, "empty");
            json!({ "revision": 1, "tenants": { "acme": { "slots": {} } } })
        },
        &[],
        "",
    )
    .await;
    let mut client = runner.client().await;
    let before = execute(
        &mut client,
        "acme",
        "login.post-login",
        event("a@example.com", Some("gold")),
    )
    .await;
    assert!(before.bindings.is_empty());

    let sha = starter(&runner.modules, "custom-claim");
    let updated = json!({ "revision": 2, "tenants": { "acme": { "slots": { "login.post-login": [binding("b", "custom-claim", &sha, json!({}), false, json!({}))] } } } });
    std::fs::write(&runner.flows_file, updated.to_string()).expect("write");
    let started = std::time::Instant::now();
    loop {
        let after = execute(
            &mut client,
            "acme",
            "login.post-login",
            event("a@example.com", Some("gold")),
        )
        .await;
        if !after.bindings.is_empty() {
            assert_eq!(
                claims(&after),
                json!({ "https://example.com/tier": "gold" })
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the change was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A broken file is refused and the last good flows keep serving.
    std::fs::write(&runner.flows_file, "{ broken").expect("write");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let still = execute(
        &mut client,
        "acme",
        "login.post-login",
        event("a@example.com", Some("gold")),
    )
    .await;
    assert_eq!(still.bindings.len(), 1);
    runner.stop().await;
}
