//! Errors thrown by an Action (at run or at module load, non-errors, never
//! settling, overflowing the stack) as guest-error outcomes with their name,
//! message and stack, each followed by a clean run.

use super::{SANDBOX, assert_next_run_is_clean, run};
use actions_runner::Outcome;

#[tokio::test]
async fn guest_errors_carry_message_and_stack() {
    let report = run("function inner() { throw new TypeError('bad thing'); }\nexport function execute() { inner(); }").await;
    let Outcome::GuestError {
        name,
        message,
        stack,
    } = report.outcome
    else {
        panic!("expected a guest error, got {:?}", report.outcome);
    };
    assert_eq!(
        (name.as_str(), message.as_str()),
        ("TypeError", "bad thing")
    );
    assert!(stack.contains("inner"), "{stack}");

    let report = run("export async function execute() { throw 42; }").await;
    assert!(
        matches!(report.outcome, Outcome::GuestError { ref name, ref message, .. } if name == "NonErrorThrown" && message.contains("42"))
    );

    let report = run("throw new Error('at module load');\nexport function execute() {}").await;
    assert!(
        matches!(report.outcome, Outcome::GuestError { ref message, .. } if message == "at module load")
    );

    let report = run("export async function execute() { await new Promise(() => {}); }").await;
    assert!(matches!(report.outcome, Outcome::GuestError { ref name, .. } if name == "Unsettled"));

    let report =
        run("const f = (n: number): number => f(n + 1);\nexport function execute() { f(0); }")
            .await;
    assert!(
        matches!(report.outcome, Outcome::GuestError { .. }),
        "{:?}",
        report.outcome
    );
    assert_next_run_is_clean(&SANDBOX).await;
}
