//! The Actions themselves: `action pack`, `upload`, `publish`, `list`,
//! `show`, `versions`, `source`, `rollback` and `delete`.

use super::{Remote, block_on, refused, time_text};
use crate::Status;
use crate::outln;
use crate::output::{Progress, bytes_text, print_json};
use actions_compiler::SourcePackage;
use actions_proto::controlplane::v1::{self as pb, actions_client::ActionsClient};
use actions_proto::manifest::{MANIFEST_FILE, Manifest};
use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};
use std::path::{Component, Path, PathBuf};
use tonic::transport::Channel;

/// The Actions service, with the answer size every command allows.
fn client(channel: Channel) -> ActionsClient<Channel> {
    ActionsClient::new(channel).max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES)
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
    crate::secret_types::refresh(dir)?;
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
        crate::outln!(
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
    let size = bytes.len() as u64;
    let saved = block_on(async {
        let mut client = client(args.remote.channel().await?);
        // On a terminal, the state and the time it takes; nothing when piped.
        let _progress = Progress::start(format!(
            "uploading {}; the control plane compiles it",
            bytes_text(size)
        ));
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
        crate::outln!(
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
        let mut client = client(args.remote.channel().await?);
        let version = match &args.version {
            Some(version) => version.clone(),
            None => latest_version(&mut client, &args.remote, &args.slug).await?,
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
        crate::outln!(
            "published {}@{}: live for every binding of its major",
            published.slug,
            published.version
        );
    }
    Ok(Status::Ok)
}

/// The latest version of an Action (what `publish` and `source` take by default).
async fn latest_version(
    client: &mut ActionsClient<Channel>,
    remote: &Remote,
    slug: &str,
) -> anyhow::Result<String> {
    client
        .list_versions(remote.request(pb::ListVersionsRequest {
            slug: slug.to_owned(),
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
        .with_context(|| format!("{slug} has no versions; upload one first"))
}

/// An Action as `--json` prints it.
pub(crate) fn action_json(a: &pb::Action) -> Value {
    json!({
        "slug": a.slug, "name": a.name, "triggers": a.triggers,
        "latest_version": a.latest_version, "live_versions": a.live_versions,
        "bindings": a.bindings, "created_at_ms": a.created_at_ms,
    })
}

/// A version as `--json` prints it (the config schema as JSON, `null` for any object).
pub(crate) fn version_json(v: &pb::Version) -> Value {
    json!({
        "slug": v.slug, "version": v.version, "triggers": v.triggers,
        "config_schema": serde_json::from_str::<Value>(&v.config_schema_json).unwrap_or(Value::Null),
        "module_sha256": v.module_sha256, "plugin_id": v.plugin_id, "wasm_bytes": v.wasm_bytes,
        "created_at_ms": v.created_at_ms, "created_by": v.created_by,
        "live": v.live, "published_at_ms": v.published_at_ms,
    })
}

/// A list of words, or "-" when there is none.
fn words(list: &[String]) -> String {
    if list.is_empty() {
        "-".to_owned()
    } else {
        list.join(",")
    }
}

#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// At most this many (0: all of them).
    #[arg(long, default_value = "0")]
    limit: usize,
    #[command(flatten)]
    remote: Remote,
}

/// `action list`: the tenant's Actions, by slug, every page.
pub(crate) fn list(args: &ListArgs) -> anyhow::Result<Status> {
    let actions = block_on(async {
        let mut client = client(args.remote.channel().await?);
        let mut found = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_actions(args.remote.request(pb::ListActionsRequest {
                    page_size: 0,
                    page_token,
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            found.extend(page.actions);
            if page.next_page_token.is_empty() || (args.limit > 0 && found.len() >= args.limit) {
                break;
            }
            page_token = page.next_page_token;
        }
        if args.limit > 0 {
            found.truncate(args.limit);
        }
        anyhow::Ok(found)
    })?;
    if args.remote.json {
        print_json(&Value::Array(actions.iter().map(action_json).collect()));
        return Ok(Status::Ok);
    }
    if actions.is_empty() {
        outln!("no Actions yet; `action upload <package>` creates one");
        return Ok(Status::Ok);
    }
    let width = actions
        .iter()
        .map(|a| a.slug.len())
        .max()
        .unwrap_or(0)
        .max(4);
    outln!(
        "{:width$}  {:10}  {:16}  {:8}  NAME",
        "SLUG",
        "LATEST",
        "LIVE",
        "BINDINGS"
    );
    for a in &actions {
        outln!(
            "{:width$}  {:10}  {:16}  {:<8}  {}",
            a.slug,
            a.latest_version,
            words(&a.live_versions),
            a.bindings,
            a.name
        );
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct ShowArgs {
    /// The Action.
    slug: String,
    #[command(flatten)]
    remote: Remote,
}

/// `action show`: one Action.
pub(crate) fn show(args: &ShowArgs) -> anyhow::Result<Status> {
    let action = block_on(async {
        client(args.remote.channel().await?)
            .get_action(args.remote.request(pb::GetActionRequest {
                slug: args.slug.clone(),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&action_json(&action));
        return Ok(Status::Ok);
    }
    outln!("slug      {}", action.slug);
    outln!("name      {}", action.name);
    outln!("triggers  {}", words(&action.triggers));
    outln!("latest    {}", action.latest_version);
    outln!("live      {}", words(&action.live_versions));
    outln!("bindings  {}", action.bindings);
    outln!("created   {}", time_text(action.created_at_ms));
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct VersionsArgs {
    /// The Action.
    slug: String,
    /// At most this many, newest first (0: all of them).
    #[arg(long, default_value = "0")]
    limit: usize,
    #[command(flatten)]
    remote: Remote,
}

/// `action versions`: an Action's versions, newest first, every page.
pub(crate) fn versions(args: &VersionsArgs) -> anyhow::Result<Status> {
    let versions = block_on(async {
        let mut client = client(args.remote.channel().await?);
        let mut found = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_versions(args.remote.request(pb::ListVersionsRequest {
                    slug: args.slug.clone(),
                    page_size: 0,
                    page_token,
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            found.extend(page.versions);
            if page.next_page_token.is_empty() || (args.limit > 0 && found.len() >= args.limit) {
                break;
            }
            page_token = page.next_page_token;
        }
        if args.limit > 0 {
            found.truncate(args.limit);
        }
        anyhow::Ok(found)
    })?;
    if args.remote.json {
        print_json(&Value::Array(versions.iter().map(version_json).collect()));
        return Ok(Status::Ok);
    }
    outln!(
        "{:12}  {:4}  {:20}  {:20}  {:12}  BY",
        "VERSION",
        "LIVE",
        "SAVED",
        "PUBLISHED",
        "MODULE"
    );
    for v in &versions {
        outln!(
            "{:12}  {:4}  {:20}  {:20}  {:12}  {}",
            v.version,
            if v.live { "live" } else { "" },
            time_text(v.created_at_ms),
            if v.published_at_ms == 0 {
                "-".to_owned()
            } else {
                time_text(v.published_at_ms)
            },
            &v.module_sha256[..v.module_sha256.len().min(12)],
            v.created_by
        );
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct SourceArgs {
    /// The Action.
    slug: String,
    /// The version (default: the latest).
    #[arg(long)]
    version: Option<String>,
    /// The folder to write the package to (default: ./<slug>); it must not
    /// exist or be empty.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    remote: Remote,
}

/// A path of the stored source, checked to stay inside the folder it is
/// written to: relative, without `..`.
fn inside(root: &Path, path: &str) -> anyhow::Result<PathBuf> {
    let relative = Path::new(path);
    let plain = !path.is_empty()
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain {
        bail!(
            "the control plane sent a source file {path:?} that would land outside the package folder; nothing was written"
        );
    }
    Ok(root.join(relative))
}

/// `action source`: writes a version's package (its sources and an
/// `action.json` for it) to a folder, ready to edit and upload again.
pub(crate) fn source(args: &SourceArgs) -> anyhow::Result<Status> {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.slug));
    if std::fs::read_dir(&output).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!(
            "{} exists and is not empty; name another folder with --output",
            output.display()
        );
    }
    let (action, found) = block_on(async {
        let mut client = client(args.remote.channel().await?);
        let version = match &args.version {
            Some(version) => version.clone(),
            None => latest_version(&mut client, &args.remote, &args.slug).await?,
        };
        let action = client
            .get_action(args.remote.request(pb::GetActionRequest {
                slug: args.slug.clone(),
            })?)
            .await
            .map_err(refused)?
            .into_inner();
        let found = client
            .get_version_source(args.remote.request(pb::GetVersionSourceRequest {
                slug: args.slug.clone(),
                version,
            })?)
            .await
            .map_err(refused)?
            .into_inner();
        anyhow::Ok((action, found))
    })?;
    let version = found.version.unwrap_or_default();
    let source = found.source.unwrap_or_default();
    // Every path is checked before anything is written.
    let mut files: Vec<(PathBuf, &str, &String)> = source
        .files
        .iter()
        .map(|(path, text)| Ok((inside(&output, path)?, path.as_str(), text)))
        .collect::<anyhow::Result<_>>()?;
    files.sort_by(|a, b| a.1.cmp(b.1));
    if files.iter().any(|(_, path, _)| *path == MANIFEST_FILE) {
        bail!("the stored source has its own {MANIFEST_FILE}; nothing was written");
    }
    // No version in the manifest: uploading it again saves the next patch.
    let mut manifest = json!({
        "name": action.name, "slug": version.slug, "triggers": version.triggers,
    });
    if let Ok(schema) = serde_json::from_str::<Value>(&version.config_schema_json) {
        manifest["config_schema"] = schema;
    }
    let manifest_text = format!("{}\n", serde_json::to_string_pretty(&manifest)?);
    std::fs::create_dir_all(&output).with_context(|| format!("creating {}", output.display()))?;
    std::fs::write(output.join(MANIFEST_FILE), &manifest_text)
        .with_context(|| format!("writing {}", output.join(MANIFEST_FILE).display()))?;
    for (target, _, text) in &files {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(target, text).with_context(|| format!("writing {}", target.display()))?;
    }
    let mut names = vec![MANIFEST_FILE];
    names.extend(files.iter().map(|(_, path, _)| *path));
    if args.remote.json {
        print_json(&json!({
            "slug": version.slug, "version": version.version, "output": output,
            "files": names, "entry": source.entry,
        }));
    } else {
        outln!(
            "wrote {}@{} to {}: {}",
            version.slug,
            version.version,
            output.display(),
            names.join(", ")
        );
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct RollbackArgs {
    /// The Action.
    slug: String,
    /// The version to make live again.
    #[arg(long)]
    to: String,
    #[command(flatten)]
    remote: Remote,
}

/// The major of a semver version (`None` when it is not one).
fn major_of(version: &str) -> Option<&str> {
    version.split('.').next().filter(|m| !m.is_empty())
}

/// `action rollback`: publishes an older version; every binding of its
/// major runs it from then on.
pub(crate) fn rollback(args: &RollbackArgs) -> anyhow::Result<Status> {
    let (before, published) = block_on(async {
        let mut client = client(args.remote.channel().await?);
        let action = client
            .get_action(args.remote.request(pb::GetActionRequest {
                slug: args.slug.clone(),
            })?)
            .await
            .map_err(refused)?
            .into_inner();
        let before = action
            .live_versions
            .into_iter()
            .find(|live| major_of(live).is_some() && major_of(live) == major_of(&args.to));
        let published = client
            .publish_version(args.remote.request(pb::PublishVersionRequest {
                slug: args.slug.clone(),
                version: args.to.clone(),
            })?)
            .await
            .map_err(refused)?
            .into_inner();
        anyhow::Ok((before, published))
    })?;
    if args.remote.json {
        print_json(&json!({
            "slug": published.slug, "version": published.version, "live": published.live,
            "previous": before,
        }));
    } else {
        match before {
            Some(before) if before == published.version => outln!(
                "{}@{} was already live; nothing changed",
                published.slug,
                published.version
            ),
            Some(before) => outln!(
                "{}@{} is live again (was {}) for every binding of its major",
                published.slug,
                published.version,
                before
            ),
            None => outln!(
                "published {}@{}: live for every binding of its major",
                published.slug,
                published.version
            ),
        }
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct DeleteArgs {
    /// The Action (refused while it is bound: detach it first).
    slug: String,
    #[command(flatten)]
    remote: Remote,
}

/// `action delete`: an Action and every version of it.
pub(crate) fn delete(args: &DeleteArgs) -> anyhow::Result<Status> {
    let deleted = block_on(async {
        client(args.remote.channel().await?)
            .delete_action(args.remote.request(pb::DeleteActionRequest {
                slug: args.slug.clone(),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&json!({ "deleted": args.slug, "versions_deleted": deleted.versions_deleted }));
    } else {
        outln!(
            "deleted {} and its {} version(s)",
            args.slug,
            deleted.versions_deleted
        );
    }
    Ok(Status::Ok)
}
