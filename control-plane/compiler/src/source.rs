//! An Action's source: a set of files with one entry, held in memory so that
//! the same compile serves files on disk (the CLI) and uploads (the control
//! plane).

use crate::CompileError;
use std::collections::BTreeMap;
use std::path::{Component, Path};

/// Files the compiler reads as modules.
pub const SOURCE_EXTENSIONS: &[&str] = &["ts", "mts", "js", "mjs"];

/// Limits on what a package may hold.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// The total of every file of a package.
pub const MAX_PACKAGE_BYTES: usize = 4 * 1024 * 1024;

/// Where an Action starts, in order of preference.
const ENTRY_CANDIDATES: [&str; 4] = ["src/index.ts", "index.ts", "src/index.js", "index.js"];

/// Folders that never hold the Action's own modules.
const SKIPPED_DIRS: &[&str] = &["node_modules", "tests", "dist", "target", ".git"];

/// The files of one Action and the module to start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePackage {
    files: BTreeMap<String, Vec<u8>>,
    entry: String,
}

impl SourcePackage {
    /// A package of one file.
    pub fn single(name: &str, source: impl Into<Vec<u8>>) -> Result<Self, CompileError> {
        let name = normalise(name)?;
        let mut files = BTreeMap::new();
        files.insert(name.clone(), source.into());
        Self::new(files, &name)
    }

    /// A package of several files; `entry` names one of them.
    pub fn new(files: BTreeMap<String, Vec<u8>>, entry: &str) -> Result<Self, CompileError> {
        let mut normalised = BTreeMap::new();
        let mut total = 0usize;
        for (path, bytes) in files {
            if bytes.len() > MAX_FILE_BYTES {
                return Err(CompileError::TooLarge {
                    what: path,
                    size: bytes.len(),
                    limit: MAX_FILE_BYTES,
                });
            }
            total += bytes.len();
            normalised.insert(normalise(&path)?, bytes);
        }
        if total > MAX_PACKAGE_BYTES {
            return Err(CompileError::TooLarge {
                what: "the package".into(),
                size: total,
                limit: MAX_PACKAGE_BYTES,
            });
        }
        let entry = normalise(entry)?;
        if !normalised.contains_key(&entry) {
            return Err(CompileError::MissingEntry { entry });
        }
        Ok(Self {
            files: normalised,
            entry,
        })
    }

    /// Reads a package from disk: a single file (with no imports of its
    /// own), or a folder whose entry is `src/index.ts` (or `index.ts`, or the
    /// `.js` of either) and whose other modules it may import.
    pub fn load(path: &Path) -> Result<Self, CompileError> {
        let io = |source, at: &Path| CompileError::Io {
            path: at.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(|e| io(e, path))?;
        if meta.is_file() {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or(CompileError::BadPath {
                    path: path.display().to_string(),
                    reason: "the file name is not UTF-8",
                })?;
            let bytes = std::fs::read(path).map_err(|e| io(e, path))?;
            return Self::single(name, bytes);
        }
        let mut files = BTreeMap::new();
        collect(path, path, &mut files, 0)?;
        Self::with_default_entry(files).map_err(|error| match error {
            CompileError::MissingEntry { .. } => CompileError::MissingEntry {
                entry: format!("{}/src/index.ts", path.display()),
            },
            other => other,
        })
    }

    /// A package of several files whose entry is the conventional one:
    /// `src/index.ts` (or `index.ts`, or the `.js` of either), or the only
    /// file there is.
    pub fn with_default_entry(files: BTreeMap<String, Vec<u8>>) -> Result<Self, CompileError> {
        let entry = ENTRY_CANDIDATES
            .into_iter()
            .find(|candidate| files.contains_key(*candidate))
            .map(str::to_owned)
            .or_else(|| {
                (files.len() == 1)
                    .then(|| files.keys().next().cloned())
                    .flatten()
            })
            .ok_or_else(|| CompileError::MissingEntry {
                entry: "src/index.ts".into(),
            })?;
        Self::new(files, &entry)
    }

    /// Whether a file at `path` of a package is one of the Action's modules
    /// (not a declaration file, a test or something vendored).
    pub fn is_module_path(path: &str) -> bool {
        let skipped_dir = path
            .split('/')
            .rev()
            .skip(1)
            .any(|dir| SKIPPED_DIRS.contains(&dir) || dir.starts_with('.'));
        !skipped_dir && has_source_extension(path) && !path.ends_with(".d.ts")
    }

    /// The entry module's path.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// The bytes of a file, if the package has it.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Every file, in path order.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }
}

fn collect(
    root: &Path,
    dir: &Path,
    files: &mut BTreeMap<String, Vec<u8>>,
    depth: usize,
) -> Result<(), CompileError> {
    let io = |source, at: &Path| CompileError::Io {
        path: at.display().to_string(),
        source,
    };
    if depth > 16 {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io(e, dir))?
        .collect::<Result<_, _>>()
        .map_err(|e| io(e, dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| io(e, &path))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if kind.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_ref()) && !name.starts_with('.') {
                collect(root, &path, files, depth + 1)?;
            }
        } else if kind.is_file() && has_source_extension(&name) && !name.ends_with(".d.ts") {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&path).map_err(|e| io(e, &path))?;
            files.insert(relative, bytes);
        }
    }
    Ok(())
}

/// Whether the compiler reads a file of this name as a module.
pub fn has_source_extension(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| SOURCE_EXTENSIONS.contains(&e))
}

/// `a/./b/../c.ts` → `a/c.ts`; refuses absolute paths and paths that climb
/// out of the package.
pub(crate) fn normalise(path: &str) -> Result<String, CompileError> {
    let bad = |reason| CompileError::BadPath {
        path: path.to_owned(),
        reason,
    };
    if path.is_empty() {
        return Err(bad("the path is empty"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().ok_or_else(|| bad("not UTF-8"))?),
            Component::CurDir => {}
            Component::ParentDir => {
                parts
                    .pop()
                    .ok_or_else(|| bad("it climbs out of the package"))?;
            }
            Component::RootDir | Component::Prefix(_) => return Err(bad("it is absolute")),
        }
    }
    if parts.is_empty() {
        return Err(bad("it names the package root"));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_keeps_paths_inside_the_package() {
        assert_eq!(
            normalise("./src/../lib/a.ts").ok().as_deref(),
            Some("lib/a.ts")
        );
        assert!(matches!(
            normalise("../a.ts"),
            Err(CompileError::BadPath { .. })
        ));
        assert!(matches!(
            normalise("/etc/passwd"),
            Err(CompileError::BadPath { .. })
        ));
    }

    #[test]
    fn a_package_must_hold_its_entry() {
        let files = BTreeMap::from([("a.ts".to_owned(), b"x".to_vec())]);
        assert!(matches!(
            SourcePackage::new(files, "b.ts"),
            Err(CompileError::MissingEntry { .. })
        ));
    }
}
