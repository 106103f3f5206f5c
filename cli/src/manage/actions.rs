//! The Actions themselves: `action pack`, `action upload` and `action publish`.

use super::{Remote, block_on, refused};
use crate::Status;
use crate::output::print_json;
use actions_compiler::SourcePackage;
use actions_proto::controlplane::v1::{self as pb, actions_client::ActionsClient};
use actions_proto::manifest::{MANIFEST_FILE, Manifest};
use anyhow::Context as _;
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};

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
        let mut client = ActionsClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
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
        let mut client = ActionsClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
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
