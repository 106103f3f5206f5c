//! A flows file, polled: a changed file is reloaded within half a second;
//! a file that does not load leaves the previous flows serving.

use crate::state::RunnerState;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often the file's modification time is looked at.
const POLL: Duration = Duration::from_millis(250);

/// Polls the settings' flows file for as long as the runner lives.
pub async fn watch(state: Arc<RunnerState>) {
    let Some(file) = state.settings().flows_file.clone() else {
        return;
    };
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut seen: Option<SystemTime> = modified(&file);
    let mut tick = tokio::time::interval(POLL);
    loop {
        tick.tick().await;
        let now = modified(&file);
        if now == seen {
            continue;
        }
        seen = now;
        let reloading = Arc::clone(&state);
        match tokio::task::spawn_blocking(move || reloading.reload()).await {
            Ok(Ok(revision)) => tracing::info!(revision, "flows reloaded"),
            Ok(Err(error)) => {
                tracing::warn!(%error, "flows file rejected; serving the previous flows")
            }
            Err(error) => tracing::warn!(%error, "flows reload task failed"),
        }
    }
}
