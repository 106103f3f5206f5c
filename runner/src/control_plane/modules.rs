//! Modules fetched by hash (`FetchModule`) into the modules folder, which
//! doubles as the on-disk cache.

use super::{SyncClient, SyncError};
use crate::flows::FlowSnapshot;
use actions_proto::controlplane::v1::FetchModuleRequest;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;

/// Fetches every module the snapshot names that the modules folder lacks.
/// A module the control plane does not have, or sends with the wrong hash,
/// is skipped (its bindings fail as their policy says, see
/// `LoadedFlows::load`): it must not hold back every other tenant's flows.
/// Losing the link is an error: the update is retried.
pub async fn fetch_missing(
    client: &mut SyncClient,
    snapshot: &FlowSnapshot,
    dir: &Path,
) -> Result<(), SyncError> {
    let wanted: BTreeSet<&str> = snapshot
        .tenants
        .values()
        .flat_map(|t| t.slots.values().flatten())
        .map(|b| b.module_sha256.as_str())
        // A binding the runner could not read names no module.
        .filter(|sha256| !sha256.is_empty())
        .collect();
    for sha256 in wanted {
        match fetch(client, sha256, dir).await {
            Ok(()) => {}
            Err(SyncError::Invalid(error)) => {
                tracing::warn!(sha256, %error, "a module could not be fetched; the bindings using it fail as their policy says");
            }
            Err(transport) => return Err(transport),
        }
    }
    Ok(())
}

/// Makes sure `<dir>/<sha256>.wasm` exists, fetching it by hash when it
/// does not; its hash is checked before it is written.
pub async fn fetch(client: &mut SyncClient, sha256: &str, dir: &Path) -> Result<(), SyncError> {
    let path = dir.join(format!("{sha256}.wasm"));
    if path.is_file() {
        return Ok(());
    }
    let module = client
        .fetch_module(FetchModuleRequest {
            sha256: sha256.to_owned(),
        })
        .await
        .map_err(|status| {
            use tonic::Code;
            match status.code() {
                // About the link: the whole watch retries.
                Code::Unavailable
                | Code::Unknown
                | Code::Internal
                | Code::Cancelled
                | Code::DeadlineExceeded
                | Code::Aborted
                | Code::Unauthenticated
                | Code::PermissionDenied => status.into(),
                // About this module (missing, too large to take): only the
                // bindings using it fail.
                _ => SyncError::Invalid(format!("module {sha256}: {}", status.message())),
            }
        })?
        .into_inner();
    let actual = hex::encode(Sha256::digest(&module.wasm));
    if actual != sha256 {
        return Err(SyncError::Invalid(format!(
            "module {sha256} arrived with sha256 {actual}"
        )));
    }
    let temporary = dir.join(format!(".{sha256}.tmp"));
    std::fs::write(&temporary, &module.wasm)
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(|e| SyncError::Invalid(format!("writing {}: {e}", path.display())))
}
