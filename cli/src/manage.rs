//! The control-plane commands: pack, upload, publish, attach, detach, flows,
//! logs and audit. They call the management API with a tenant token.

use crate::Status;
use crate::output::print_json;
use actions_compiler::SourcePackage;
use actions_proto::controlplane::v1::{
    self as pb, actions_client::ActionsClient, audit_client::AuditClient,
    flows_client::FlowsClient, tail_event::Event,
};
use actions_proto::manifest::{MANIFEST_FILE, Manifest};
use actions_proto::runner::v1::Limits;
use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use tonic::transport::Channel;

/// Where the control plane is and who calls it: the flags, else the
/// environment, else the profile `action login` wrote.
#[derive(Args, Debug, Clone)]
pub(crate) struct Remote {
    /// The control plane (default: the profile's, else http://127.0.0.1:50051).
    #[arg(long, env = "ACTIONS_SERVER")]
    server: Option<String>,
    /// A tenant token (default: the profile's; `./dev demo` prints the demo tenant's).
    #[arg(long, env = "ACTIONS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// What `action login` keeps: `$XDG_CONFIG_HOME/actions/profile.toml`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Profile {
    server: String,
    token: String,
}

fn profile_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("actions").join("profile.toml"))
}

fn load_profile() -> Profile {
    profile_path()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| toml::from_str(&text).ok())
        .unwrap_or_default()
}

impl Remote {
    /// The server and token to use.
    fn resolved(&self) -> (String, String) {
        let profile = load_profile();
        let server = self
            .server
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| Some(profile.server).filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "http://127.0.0.1:50051".into());
        let token = self
            .token
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or(profile.token);
        (server, token)
    }

    async fn channel(&self) -> anyhow::Result<Channel> {
        let (server, token) = self.resolved();
        if token.is_empty() {
            bail!(
                "no token: pass --token, set ACTIONS_TOKEN, or run `action login --token <tenant token>`"
            );
        }
        Channel::from_shared(server.clone())
            .with_context(|| format!("--server {server:?} is not a URL"))?
            .connect()
            .await
            .with_context(|| {
                format!(
                    "cannot reach the control plane at {server}; is it running? (./dev demo starts one)"
                )
            })
    }

    fn request<T>(&self, message: T) -> anyhow::Result<tonic::Request<T>> {
        Ok(actions_proto::bearer::request(message, &self.resolved().1)?)
    }
}

/// A refusal from the control plane, as the user should read it.
fn refused(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!(
        "the control plane refused ({:?}): {}",
        status.code(),
        status.message()
    )
}

fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(work)
}

#[derive(Args, Debug)]
pub(crate) struct PackArgs {
    /// The package folder (with action.json).
    dir: PathBuf,
    /// Where to write the .tar.gz (default: <dir>/dist/<slug>.tar.gz).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// A file of a package: its path inside the package and its bytes.
type PackageFile = (String, Vec<u8>);

/// The package's manifest and every file the control plane reads. The
/// manifest is checked here, by the control plane's own rules, so that a
/// mistake in it is found before anything is packed or sent.
fn package_files(dir: &Path) -> anyhow::Result<(Manifest, Vec<PackageFile>)> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&manifest_path).with_context(|| {
        format!(
            "reading {}; a package needs an action.json",
            manifest_path.display()
        )
    })?;
    let manifest = Manifest::parse(&manifest_path.display().to_string(), &bytes)?;
    // The compiler's own reading of the folder decides which files are modules.
    let source = SourcePackage::load(dir)?;
    // The author's own file is sent, not a rewrite of it.
    let mut files = vec![(MANIFEST_FILE.to_owned(), bytes)];
    files.extend(
        source
            .files()
            .map(|(path, bytes)| (path.to_owned(), bytes.to_vec())),
    );
    Ok((manifest, files))
}

fn tar_gz(files: &[PackageFile]) -> anyhow::Result<Vec<u8>> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut archive = tar::Builder::new(encoder);
    for (path, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        archive.append_data(&mut header, path, bytes.as_slice())?;
    }
    Ok(archive.into_inner()?.finish()?)
}

pub(crate) fn pack(args: &PackArgs) -> anyhow::Result<Status> {
    let (manifest, files) = package_files(&args.dir)?;
    let bytes = tar_gz(&files)?;
    let output = args.output.clone().unwrap_or_else(|| {
        args.dir
            .join("dist")
            .join(format!("{}.tar.gz", manifest.slug))
    });
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    if args.json {
        print_json(&json!({ "output": output, "size": bytes.len(), "files": names }));
    } else {
        println!(
            "packed {} ({} bytes): {}",
            output.display(),
            bytes.len(),
            names.join(", ")
        );
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct UploadArgs {
    /// A package folder, or a .tar.gz made by `action pack`.
    package: PathBuf,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn upload(args: &UploadArgs) -> anyhow::Result<Status> {
    let bytes = if args.package.is_dir() {
        tar_gz(&package_files(&args.package)?.1)?
    } else {
        std::fs::read(&args.package)
            .with_context(|| format!("reading {}", args.package.display()))?
    };
    if !args.remote.json {
        eprintln!(
            "uploading {} bytes; the control plane compiles it...",
            bytes.len()
        );
    }
    let saved = block_on(async {
        let mut client = ActionsClient::new(args.remote.channel().await?);
        client
            .upload_package(args.remote.request(pb::UploadPackageRequest {
                package_tar_gz: bytes,
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    let version = saved.version.unwrap_or_default();
    if args.remote.json {
        print_json(&json!({
            "slug": version.slug, "version": version.version, "created": saved.created,
            "module_sha256": version.module_sha256, "wasm_bytes": version.wasm_bytes,
        }));
    } else {
        println!(
            "{} {}@{} (module {}, {} bytes); publish it with: action publish {} --version {}",
            if saved.created { "created" } else { "saved" },
            version.slug,
            version.version,
            &version.module_sha256[..version.module_sha256.len().min(12)],
            version.wasm_bytes,
            version.slug,
            version.version
        );
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct PublishArgs {
    /// The Action.
    slug: String,
    /// The version to make live (default: the latest).
    #[arg(long)]
    version: Option<String>,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn publish(args: &PublishArgs) -> anyhow::Result<Status> {
    let published = block_on(async {
        let mut client = ActionsClient::new(args.remote.channel().await?);
        let version = match &args.version {
            Some(version) => version.clone(),
            None => client
                .list_versions(args.remote.request(pb::ListVersionsRequest {
                    slug: args.slug.clone(),
                    page_size: 1,
                    page_token: String::new(),
                })?)
                .await
                .map_err(refused)?
                .into_inner()
                .versions
                .into_iter()
                .next()
                .map(|v| v.version)
                .with_context(|| format!("{} has no versions; upload one first", args.slug))?,
        };
        client
            .publish_version(args.remote.request(pb::PublishVersionRequest {
                slug: args.slug.clone(),
                version,
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(
            &json!({ "slug": published.slug, "version": published.version, "live": published.live }),
        );
    } else {
        println!(
            "published {}@{}: live for every binding of its major",
            published.slug, published.version
        );
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct AttachArgs {
    /// The flow: login or registration.
    flow: String,
    /// The slot, e.g. post-login (or login.post-login).
    slot: String,
    /// The Action.
    slug: String,
    /// The binding's configuration (a JSON file).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where in the slot (0 first; default: last).
    #[arg(long)]
    position: Option<u32>,
    /// The major version to follow (default: the most recently published).
    #[arg(long)]
    major: Option<u64>,
    /// A failure of this Action lets the flow carry on.
    #[arg(long, conflicts_with = "fail_closed")]
    fail_open: bool,
    /// A failure of this Action denies (the default).
    #[arg(long)]
    fail_closed: bool,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    remote: Remote,
}

/// A binding's limits, named as `action test` names them; a limit not
/// given runs with the runner's default. The control plane refuses any
/// above the operator's ceilings.
#[derive(Args, Debug, Default)]
pub(crate) struct LimitArgs {
    /// Fuel per run (deterministic CPU budget).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    fuel: Option<u64>,
    /// Wall-clock deadline per run in milliseconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    deadline_ms: Option<u64>,
    /// Linear memory limit in MiB.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    memory_mib: Option<u64>,
    /// Console output limit in bytes.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    log_bytes: Option<u64>,
    /// Calls to api.fetch per run.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    fetch_calls: Option<u32>,
    /// Token claims and metadata patches together, in bytes.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    effect_bytes: Option<u64>,
    /// Request body of one api.fetch, in bytes.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    fetch_request_bytes: Option<u64>,
    /// Response body of one api.fetch, in bytes.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    fetch_response_bytes: Option<u64>,
    /// Timeout of one api.fetch in milliseconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    fetch_timeout_ms: Option<u64>,
}

impl LimitArgs {
    /// The limits to send: `None` when no flag is given (the defaults);
    /// otherwise the given ones, 0 (the default) for the rest.
    fn wire(&self) -> Option<Limits> {
        let limits = Limits {
            fuel: self.fuel.unwrap_or(0),
            deadline_ms: self.deadline_ms.unwrap_or(0),
            memory_bytes: self
                .memory_mib
                .map_or(0, |mib| mib.saturating_mul(1024 * 1024)),
            log_bytes: self.log_bytes.unwrap_or(0),
            fetch_calls: self.fetch_calls.unwrap_or(0),
            effect_bytes: self.effect_bytes.unwrap_or(0),
            fetch_request_bytes: self.fetch_request_bytes.unwrap_or(0),
            fetch_response_bytes: self.fetch_response_bytes.unwrap_or(0),
            fetch_timeout_ms: self.fetch_timeout_ms.unwrap_or(0),
        };
        (!limits.is_default()).then_some(limits)
    }
}

/// The limits a binding sets (`null`: the runner's defaults), by their proto names.
fn limits_json(limits: Option<&Limits>) -> Value {
    match limits.filter(|l| !l.is_default()) {
        None => Value::Null,
        Some(limits) => limits
            .fields()
            .into_iter()
            .filter(|(_, value)| *value != 0)
            .map(|(field, value)| (field.to_owned(), Value::from(value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// The limits a binding sets, as text (`None`: the runner's defaults).
fn limits_text(limits: Option<&Limits>) -> Option<String> {
    let limits = limits.filter(|l| !l.is_default())?;
    let set: Vec<String> = limits
        .fields()
        .into_iter()
        .filter(|(_, value)| *value != 0)
        .map(|(field, value)| format!("{field}={value}"))
        .collect();
    Some(set.join(" "))
}

pub(crate) fn attach(args: &AttachArgs) -> anyhow::Result<Status> {
    let trigger = if args.slot.contains('.') {
        args.slot.clone()
    } else {
        format!("{}.{}", args.flow, args.slot)
    };
    if !trigger.starts_with(&format!("{}.", args.flow)) {
        bail!("slot {trigger} is not in the {} flow", args.flow);
    }
    let config_json = match &args.config {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => String::new(),
    };
    let binding = block_on(async {
        FlowsClient::new(args.remote.channel().await?)
            .attach_action(args.remote.request(pb::AttachActionRequest {
                trigger: trigger.clone(),
                action_slug: args.slug.clone(),
                major: args.major,
                position: args.position,
                config_json,
                fail_open: args.fail_open,
                limits: args.limits.wire(),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&binding_json(&binding));
    } else {
        println!(
            "attached {}@{} to {} at position {} as {}; it runs from the next {}",
            binding.action_slug,
            binding.version,
            binding.trigger,
            binding.position,
            binding.id,
            args.flow
        );
        if let Some(limits) = limits_text(binding.limits.as_ref()) {
            println!("limits: {limits} (the rest: the runner's defaults)");
        }
    }
    Ok(Status::Ok)
}

fn binding_json(b: &pb::SlotBinding) -> Value {
    json!({
        "id": b.id, "trigger": b.trigger, "position": b.position, "action": b.action_slug,
        "major": b.major, "version": b.version,
        "config": serde_json::from_str::<Value>(&b.config_json).unwrap_or(Value::Null),
        "fail_open": b.fail_open,
        "limits": limits_json(b.limits.as_ref()),
    })
}

#[derive(Args, Debug)]
pub(crate) struct DetachArgs {
    /// The binding's id (see `action flows`).
    binding: String,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn detach(args: &DetachArgs) -> anyhow::Result<Status> {
    block_on(async {
        FlowsClient::new(args.remote.channel().await?)
            .detach_binding(args.remote.request(pb::DetachBindingRequest {
                binding_id: args.binding.clone(),
            })?)
            .await
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&json!({ "detached": args.binding }));
    } else {
        println!("detached {}", args.binding);
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct FlowsArgs {
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn flows(args: &FlowsArgs) -> anyhow::Result<Status> {
    let flows = block_on(async {
        FlowsClient::new(args.remote.channel().await?)
            .list_flows(args.remote.request(pb::ListFlowsRequest {})?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        let value: Vec<Value> = flows
            .flows
            .iter()
            .map(|f| {
                json!({ "flow": f.name, "slots": f.slots.iter().map(|s| json!({
                    "trigger": s.trigger,
                    "bindings": s.bindings.iter().map(binding_json).collect::<Vec<_>>(),
                })).collect::<Vec<_>>() })
            })
            .collect();
        print_json(&Value::Array(value));
        return Ok(Status::Ok);
    }
    for flow in &flows.flows {
        println!("{}", flow.name);
        for slot in &flow.slots {
            println!("  {}  ({})", slot.trigger, slot.description);
            if slot.bindings.is_empty() {
                println!("      (nothing bound)");
            }
            for b in &slot.bindings {
                println!(
                    "    {}. {}@{}  {}  {}",
                    b.position,
                    b.action_slug,
                    b.version,
                    if b.fail_open {
                        "fail-open"
                    } else {
                        "fail-closed"
                    },
                    b.id
                );
                if let Some(limits) = limits_text(b.limits.as_ref()) {
                    println!("         limits: {limits}");
                }
            }
        }
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct LogsArgs {
    /// Only runs in which this Action ran.
    #[arg(long)]
    action: Option<String>,
    /// One run.
    #[arg(long)]
    run: Option<String>,
    /// How many runs (newest first).
    #[arg(long, default_value = "20")]
    limit: u32,
    /// Keep printing runs as they arrive.
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    remote: Remote,
}

fn run_json(run: &pb::RunRecord) -> Value {
    let answer = run.response.clone().unwrap_or_default();
    json!({
        "run_id": answer.run_id, "tenant": run.tenant, "trigger": run.trigger,
        "decision": answer.decision().name(), "deny_reason": answer.deny_reason,
        "started_at_ms": run.started_at_ms, "duration_us": answer.duration_us, "test": run.test,
        "bindings": answer.bindings.iter().map(|b| json!({
            "binding_id": b.binding_id, "action": b.action_slug, "version": b.action_version,
            "outcome": b.outcome().name(), "error": b.error, "fuel": b.fuel, "duration_us": b.duration_us,
            "logs": b.logs.iter().map(|l| json!({ "level": l.level, "message": l.message })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn print_run(run: &pb::RunRecord, as_json: bool) {
    if as_json {
        println!("{}", run_json(run));
        return;
    }
    let answer = run.response.clone().unwrap_or_default();
    let reason = if answer.deny_reason.is_empty() {
        String::new()
    } else {
        format!(": {}", answer.deny_reason)
    };
    println!(
        "run {}  {}  {}{}{}",
        answer.run_id,
        run.trigger,
        crate::output::paint_decision(answer.decision().name()),
        reason,
        if run.test { "  (test)" } else { "" }
    );
    for b in &answer.bindings {
        println!(
            "  {}@{}  {}  {} fuel  {} µs",
            b.action_slug,
            b.action_version,
            b.outcome().name(),
            b.fuel,
            b.duration_us
        );
        if !b.error.is_empty() {
            println!("    error: {}", b.error);
        }
        for line in &b.logs {
            println!("    [{}] {}", line.level, line.message);
        }
    }
}

pub(crate) fn logs(args: &LogsArgs) -> anyhow::Result<Status> {
    block_on(async {
        let mut audit = AuditClient::new(args.remote.channel().await?);
        if let Some(run_id) = &args.run {
            let run = audit
                .get_run(args.remote.request(pb::GetRunRequest {
                    run_id: run_id.clone(),
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            print_run(&run, args.remote.json);
            return Ok(());
        }
        let mut runs = audit
            .list_runs(args.remote.request(pb::ListRunsRequest {
                action_slug: args.action.clone().unwrap_or_default(),
                page_size: args.limit,
                ..Default::default()
            })?)
            .await
            .map_err(refused)?
            .into_inner()
            .runs;
        runs.reverse();
        for run in &runs {
            print_run(run, args.remote.json);
        }
        if args.follow {
            let mut tail = audit
                .tail(args.remote.request(pb::TailRequest {
                    audit: false,
                    runs: true,
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            while let Some(event) = tail.message().await.map_err(refused)? {
                if let Some(Event::Run(run)) = event.event {
                    let wanted = args
                        .action
                        .as_ref()
                        .is_none_or(|slug| run.bindings().iter().any(|b| &b.action_slug == slug));
                    if wanted {
                        print_run(&run, args.remote.json);
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct AuditArgs {
    /// Keep printing events as they happen.
    #[arg(long)]
    follow: bool,
    /// How many events (newest first).
    #[arg(long, default_value = "50")]
    limit: u32,
    #[command(flatten)]
    remote: Remote,
}

fn print_event(event: &pb::AuditEvent, as_json: bool) {
    if as_json {
        let details = serde_json::from_str::<Value>(&event.details_json).unwrap_or(Value::Null);
        println!(
            "{}",
            json!({ "seq": event.seq, "kind": event.kind, "actor": event.actor, "at_ms": event.at_ms, "subject": event.subject, "details": details })
        );
    } else {
        println!(
            "{}  {}  {}  by {}",
            event.at_ms, event.kind, event.subject, event.actor
        );
    }
}

pub(crate) fn audit(args: &AuditArgs) -> anyhow::Result<Status> {
    block_on(async {
        let mut audit = AuditClient::new(args.remote.channel().await?);
        let mut events = audit
            .list_audit_events(args.remote.request(pb::ListAuditEventsRequest {
                kind: String::new(),
                page_size: args.limit,
                page_token: String::new(),
            })?)
            .await
            .map_err(refused)?
            .into_inner()
            .events;
        events.reverse();
        for event in &events {
            print_event(event, args.remote.json);
        }
        if args.follow {
            let mut tail = audit
                .tail(args.remote.request(pb::TailRequest {
                    audit: true,
                    runs: false,
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            while let Some(event) = tail.message().await.map_err(refused)? {
                if let Some(Event::Audit(event)) = event.event {
                    print_event(&event, args.remote.json);
                }
            }
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}

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
    };
    block_on(async {
        ActionsClient::new(remote.channel().await?)
            .list_actions(remote.request(pb::ListActionsRequest {
                page_size: 1,
                page_token: String::new(),
            })?)
            .await
            .map_err(refused)
    })?;
    let path = profile_path().context("no HOME or XDG_CONFIG_HOME to keep a profile in")?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let text = toml::to_string(&Profile {
        server: args.server.clone(),
        token: args.token.clone(),
    })?;
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        file.write_all(text.as_bytes())?;
    }
    if args.json {
        print_json(&json!({ "server": args.server, "profile": path }));
    } else {
        println!(
            "logged in to {}; the token is kept in {} (mode 0600)",
            args.server,
            path.display()
        );
    }
    Ok(Status::Ok)
}
