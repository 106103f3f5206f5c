//! External packages: a `.tar.gz` of `action.json` and the TypeScript
//! sources. Read entirely in memory, with every entry checked before it is
//! used: no absolute paths, no `..`, no links, devices or pipes, and limits
//! on the compressed size, the unpacked size and the number of entries.

use crate::Error;
use actions_compiler::{MAX_PACKAGE_BYTES, SourcePackage};
use actions_proto::manifest::{MANIFEST_FILE, MAX_MANIFEST_BYTES, Manifest};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Component;

/// The largest `.tar.gz` accepted.
pub const MAX_UPLOAD_BYTES: usize = 4 * 1024 * 1024;
/// The most entries a package may hold.
const MAX_ENTRIES: usize = 2_000;
/// An unpacked package.
#[derive(Debug)]
pub struct Package {
    /// Its manifest.
    pub manifest: Manifest,
    /// Its modules.
    pub source: SourcePackage,
}

/// Unpacks and checks a `.tar.gz` package.
pub fn unpack(tar_gz: &[u8]) -> Result<Package, Error> {
    let bad = |message: String| Error::Invalid(format!("package: {message}"));
    if tar_gz.is_empty() {
        return Err(bad("package_tar_gz is empty".into()));
    }
    if tar_gz.len() > MAX_UPLOAD_BYTES {
        return Err(bad(format!(
            "{} bytes compressed, over the limit of {MAX_UPLOAD_BYTES} bytes",
            tar_gz.len()
        )));
    }
    // Bound what decompression may produce, whatever the headers claim.
    let limit = (MAX_PACKAGE_BYTES as u64) * 2 + MAX_MANIFEST_BYTES;
    let decoder = flate2::read::GzDecoder::new(tar_gz).take(limit + 1);
    let mut archive = tar::Archive::new(decoder);
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut manifests: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut unpacked = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a gzip-compressed tar archive: {e}")))?;
    for (index, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| bad(format!("not a valid tar archive: {e}")))?;
        if index >= MAX_ENTRIES {
            return Err(bad(format!("more than {MAX_ENTRIES} entries")));
        }
        let raw_path = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_path).into_owned();
        let path = checked_path(&raw_path).map_err(|reason| bad(format!("{shown:?}: {reason}")))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(bad(format!(
                "{shown:?} is a link; packages may hold only files and folders"
            )));
        }
        if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            return Err(bad(format!(
                "{shown:?} is a device or pipe; packages may hold only files and folders"
            )));
        }
        if kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
        {
            continue;
        }
        if !kind.is_file() {
            return Err(bad(format!("{shown:?} is not a regular file")));
        }
        let Some(path) = path else { continue };
        let is_manifest = path.rsplit('/').next() == Some(MANIFEST_FILE);
        if !is_manifest && !SourcePackage::is_module_path(&path) {
            continue;
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        unpacked = unpacked.saturating_add(size);
        if unpacked > limit || (is_manifest && size > MAX_MANIFEST_BYTES) {
            return Err(bad(format!(
                "unpacks to more than {limit} bytes of manifest and sources"
            )));
        }
        let mut bytes = Vec::with_capacity(size.min(limit) as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("{shown:?}: {e}")))?;
        if is_manifest {
            manifests.insert(path, bytes);
        } else {
            files.insert(path, bytes);
        }
    }
    // The manifest is at the root, or at the root of the one folder the
    // archive was made from (`tar czf pkg.tgz my-action/`).
    let (manifest_path, manifest) = manifests
        .pop_first()
        .ok_or_else(|| bad("no action.json at the root of the archive".into()))?;
    let root = manifest_path.trim_end_matches(MANIFEST_FILE).to_owned();
    if root.matches('/').count() > 1 {
        return Err(bad(format!(
            "action.json is at {root:?}; put it at the root of the archive"
        )));
    }
    let files: BTreeMap<String, Vec<u8>> = files
        .into_iter()
        .filter_map(|(path, bytes)| path.strip_prefix(&root).map(|p| (p.to_owned(), bytes)))
        .collect();
    let manifest = Manifest::parse(&manifest_path, &manifest)?;
    if files.is_empty() {
        return Err(bad(
            "no TypeScript or JavaScript sources beside action.json".into(),
        ));
    }
    let source = SourcePackage::with_default_entry(files)?;
    Ok(Package { manifest, source })
}

/// The normalised relative path of an entry, `None` for the archive's root
/// itself, or why it is refused.
fn checked_path(raw: &[u8]) -> Result<Option<String>, &'static str> {
    let text = std::str::from_utf8(raw).map_err(|_| "the path is not UTF-8")?;
    if text.starts_with('/') || text.starts_with('\\') || text.contains(":\\") {
        return Err("absolute paths are refused");
    }
    let mut parts = Vec::new();
    for component in std::path::Path::new(text).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().ok_or("the path is not UTF-8")?),
            Component::CurDir => {}
            Component::ParentDir => return Err("paths with '..' are refused"),
            Component::RootDir | Component::Prefix(_) => return Err("absolute paths are refused"),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}
