//! `action login`: checks a tenant token and keeps it, with the server, in
//! the profile the other commands read. (`action admin login` keeps the
//! operator token beside it, through [`save_profile`].)

use super::{Profile, Remote, block_on, load_profile, profile_path, refused};
use crate::Status;
use crate::output::print_json;
use actions_proto::controlplane::v1::{self as pb, actions_client::ActionsClient};
use anyhow::Context as _;
use clap::Args;
use serde_json::json;

#[derive(Args, Debug)]
pub(crate) struct LoginArgs {
    /// The control plane.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    server: String,
    /// A tenant token.
    #[arg(long)]
    token: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Checks the token against the control plane, then keeps both in the profile.
pub(crate) fn login(args: &LoginArgs) -> anyhow::Result<Status> {
    let remote = Remote {
        server: Some(args.server.clone()),
        token: Some(args.token.clone()),
        json: false,
        operator: false,
    };
    block_on(async {
        ActionsClient::new(remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES)
            .list_actions(remote.request(pb::ListActionsRequest {
                page_size: 1,
                page_token: String::new(),
            })?)
            .await
            .map_err(refused)
    })?;
    let path = save_profile(&args.server, |profile| {
        profile.token.clone_from(&args.token)
    })?;
    if args.json {
        print_json(&json!({ "server": args.server, "profile": path }));
    } else {
        crate::outln!(
            "logged in to {}; the token is kept in {} (mode 0600)",
            args.server,
            path.display()
        );
    }
    Ok(Status::Ok)
}

/// Writes the profile (mode 0600) with `server` and what `change` sets,
/// keeping the other token when the server is the same one (a token of
/// another server is dropped). Returns where it is.
pub(super) fn save_profile(
    server: &str,
    change: impl FnOnce(&mut Profile),
) -> anyhow::Result<std::path::PathBuf> {
    let path = profile_path().context("no HOME or XDG_CONFIG_HOME to keep a profile in")?;
    let mut profile = load_profile();
    if profile.server != server {
        profile = Profile {
            server: server.to_owned(),
            ..Profile::default()
        };
    }
    change(&mut profile);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let text = toml::to_string(&profile)?;
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    // A profile written before with looser bits is tightened: it holds secrets.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    Ok(path)
}
