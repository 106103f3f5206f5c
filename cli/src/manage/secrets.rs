//! `action secret set|remove|list`: an Action's secrets. A value is read
//! from standard input (hidden on a terminal), never from an argument,
//! where it would stay in the shell's history and the process list; no
//! command ever prints one, because the control plane never returns one.

use super::{Remote, block_on, refused, time_text};
use crate::Status;
use crate::output::print_json;
use actions_proto::controlplane::v1::{self as pb, secrets_client::SecretsClient};
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::{IsTerminal as _, Read as _, Write as _};

#[derive(Args, Debug)]
pub(crate) struct SecretArgs {
    #[command(subcommand)]
    command: SecretCommand,
}

#[derive(Subcommand, Debug)]
enum SecretCommand {
    /// Set a secret's value, read from standard input (`action secret set my-action API_KEY < key.txt`).
    Set(SetArgs),
    /// Remove a secret (refused while a live version reads it).
    #[command(alias = "rm")]
    Remove(NameArgs),
    /// The secrets an Action declares and those set: names, who set them and when, never values.
    List(ListArgs),
}

#[derive(Args, Debug)]
struct SetArgs {
    /// The Action.
    slug: String,
    /// The secret, as the Action reads it: event.secrets.NAME.
    name: String,
    #[command(flatten)]
    remote: Remote,
}

#[derive(Args, Debug)]
struct NameArgs {
    /// The Action.
    slug: String,
    /// The secret.
    name: String,
    #[command(flatten)]
    remote: Remote,
}

#[derive(Args, Debug)]
struct ListArgs {
    /// The Action.
    slug: String,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn secret(args: &SecretArgs) -> anyhow::Result<Status> {
    match &args.command {
        SecretCommand::Set(args) => set(args),
        SecretCommand::Remove(args) => remove(args),
        SecretCommand::List(args) => list(args),
    }
}

async fn client(remote: &Remote) -> anyhow::Result<SecretsClient<tonic::transport::Channel>> {
    Ok(SecretsClient::new(remote.channel().await?)
        .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES))
}

/// The value on standard input: prompted for, unechoed, on a terminal;
/// else all of it, less one final line break (what `echo` and files add).
fn read_value(name: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut value = String::new();
    if stdin.is_terminal() {
        eprint!("value of {name} (not shown; Enter ends it): ");
        std::io::stderr().flush().ok();
        let echo_off = set_echo(false);
        let read = stdin.read_line(&mut value);
        if echo_off {
            set_echo(true);
        }
        eprintln!();
        read.context("reading the value")?;
    } else {
        stdin
            .lock()
            .read_to_string(&mut value)
            .context("reading the value from standard input (it must be UTF-8 text)")?;
    }
    let value = value
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(&value)
        .to_owned();
    if value.is_empty() {
        bail!(
            "no value on standard input for {name}; to remove a secret, use `action secret remove`"
        );
    }
    Ok(value)
}

/// Turns the terminal's echo off or on with `stty` (no value ever passes
/// through it); whether it worked.
fn set_echo(on: bool) -> bool {
    std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

fn secret_json(s: &pb::SecretInfo) -> Value {
    json!({
        "name": s.name,
        "description": s.description,
        "declared": s.declared,
        "set": s.set,
        "set_by": s.set_by,
        "set_at_ms": s.set_at_ms,
    })
}

fn set(args: &SetArgs) -> anyhow::Result<Status> {
    if !actions_proto::manifest::is_valid_secret_name(&args.name) {
        bail!(
            "{:?} is not a valid secret name: {}",
            args.name,
            actions_proto::manifest::SECRET_NAME_RULE
        );
    }
    let value = read_value(&args.name)?;
    let info = block_on(async {
        client(&args.remote)
            .await?
            .set_secret(args.remote.request(pb::SetSecretRequest {
                action_slug: args.slug.clone(),
                name: args.name.clone(),
                value,
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&secret_json(&info));
    } else {
        crate::outln!("set secret {} of {}", info.name, args.slug);
        if !info.declared {
            crate::outln!(
                "note: the latest version of {} does not declare {}; add it to action.json's \
                 \"secrets\" for the Action to be told of it",
                args.slug,
                info.name
            );
        }
    }
    Ok(Status::Ok)
}

fn remove(args: &NameArgs) -> anyhow::Result<Status> {
    block_on(async {
        client(&args.remote)
            .await?
            .remove_secret(args.remote.request(pb::RemoveSecretRequest {
                action_slug: args.slug.clone(),
                name: args.name.clone(),
            })?)
            .await
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&json!({ "removed": args.name, "action": args.slug }));
    } else {
        crate::outln!("removed secret {} of {}", args.name, args.slug);
    }
    Ok(Status::Ok)
}

fn list(args: &ListArgs) -> anyhow::Result<Status> {
    let listed = block_on(async {
        client(&args.remote)
            .await?
            .list_secrets(args.remote.request(pb::ListSecretsRequest {
                action_slug: args.slug.clone(),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&Value::Array(
            listed.secrets.iter().map(secret_json).collect(),
        ));
        return Ok(Status::Ok);
    }
    if listed.secrets.is_empty() {
        crate::outln!("{} declares no secret and has none set", args.slug);
        return Ok(Status::Ok);
    }
    for s in &listed.secrets {
        let state = match (s.declared, s.set) {
            (true, true) => format!("set by {} at {}", s.set_by, time_text(s.set_at_ms)),
            (true, false) => "NOT SET: publishing is refused until it is".into(),
            (false, true) => format!(
                "set by {} at {} (not declared by the latest version)",
                s.set_by,
                time_text(s.set_at_ms)
            ),
            (false, false) => "not set".into(),
        };
        if s.description.is_empty() {
            crate::outln!("{}  {state}", s.name);
        } else {
            crate::outln!("{}  {state}  ({})", s.name, s.description);
        }
    }
    Ok(Status::Ok)
}
