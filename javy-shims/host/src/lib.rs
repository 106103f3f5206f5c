//! The pre-initialised Actions Javy plugin, as the compiler and the runner
//! see it.
//!
//! `actions_plugin.wasm` is built from `plugin/` by `scripts/build-plugin.sh`
//! (Rust for wasm32-wasip1, then Wizer) and committed; CI rebuilds it and
//! fails on any difference. QuickJS bytecode is only valid for the exact
//! plugin build that produced it, so every compiled Action records
//! [`plugin_id`] and a runner refuses modules made for another plugin.
//!
//! The host ABI the plugin imports is described in `javy-shims/README.md`.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use wasmtime::{Engine, Module};

/// The pre-initialised plugin module.
pub const PLUGIN_WASM: &[u8] = include_bytes!("../../actions_plugin.wasm");

/// The module name under which compiled Actions import the plugin's
/// `cabi_realloc`, `invoke` and `memory` (Javy's dynamic-link format).
pub const IMPORT_NAMESPACE: &str = "actions-plugin-v1";

/// The module name of the host functions the plugin imports.
pub const HOST_MODULE: &str = "actions-host-v1";

/// The custom section of a compiled Action that names its plugin.
pub const PLUGIN_ID_SECTION: &str = "actions-plugin-id";

/// The TypeScript declarations of `event`, `api` and `console` that Action
/// authors get in their editor.
pub const TYPE_DECLARATIONS: &str = include_str!("../../types/actions.d.ts");

static PLUGIN_ID: LazyLock<String> = LazyLock::new(|| hex::encode(Sha256::digest(PLUGIN_WASM)));

/// The identity of this plugin build: the hex SHA-256 of [`PLUGIN_WASM`].
pub fn plugin_id() -> &'static str {
    &PLUGIN_ID
}

/// Why the plugin could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// wasmtime could not compile the plugin for this engine.
    #[error("compiling the plugin: {0}")]
    Compile(wasmtime::Error),
}

/// Compiles the plugin for `engine`: 2-3 s of Cranelift, so do it once per
/// process. With a `cache_dir`, the machine code is kept there, keyed by the
/// plugin and the engine's configuration, and later processes load it in a
/// few milliseconds. A missing, stale or unreadable cache entry only costs
/// the compile.
///
/// Machine code is executed as it is, with no validation left between the
/// file and the CPU: a cache file is loaded only if the SHA-256 written with
/// it matches what was read. One that does not (corrupted, cut short,
/// tampered with, or from before this format) is logged, never loaded, and
/// replaced by a fresh compile. The folder is created for this user only
/// (0700) and each file 0600.
pub fn compile_plugin(engine: &Engine, cache_dir: Option<&Path>) -> Result<Module, PluginError> {
    let Some(dir) = cache_dir else {
        return Module::new(engine, PLUGIN_WASM).map_err(PluginError::Compile);
    };
    let path = cache_path(engine, dir);
    match read_cache(engine, &path) {
        Cached::Loaded(module) => return Ok(module),
        Cached::Absent => {}
        Cached::Refused(why) => tracing::warn!(
            file = %path.display(),
            why,
            "refusing the cached plugin machine code; compiling it again"
        ),
    }
    let module = Module::new(engine, PLUGIN_WASM).map_err(PluginError::Compile)?;
    if let Ok(code) = module.serialize() {
        write_cache(dir, &path, &code);
    }
    Ok(module)
}

/// The first bytes of a cache file; the SHA-256 of the machine code
/// follows, then the machine code (`Module::serialize`).
const CACHE_MAGIC: &[u8; 16] = b"actions-cwasm-1\n";
const DIGEST_BYTES: usize = 32;

enum Cached {
    Loaded(Module),
    Absent,
    Refused(&'static str),
}

fn read_cache(engine: &Engine, path: &Path) -> Cached {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Cached::Absent,
        Err(_) => return Cached::Refused("it cannot be read"),
    };
    let Some(rest) = bytes.strip_prefix(CACHE_MAGIC.as_slice()) else {
        return Cached::Refused("it is not in the checked format");
    };
    if rest.len() < DIGEST_BYTES {
        return Cached::Refused("it is cut short");
    }
    let (digest, code) = rest.split_at(DIGEST_BYTES);
    if Sha256::digest(code).as_slice() != digest {
        return Cached::Refused("its SHA-256 does not match: corrupted or tampered with");
    }
    // SAFETY: these bytes are, checked to the last one, what this function's
    // caller wrote from `Module::serialize` for an engine of the same
    // compatibility hash (it is in the name); wasmtime checks the header
    // and refuses code made by other engines.
    #[allow(unsafe_code)]
    let loaded = unsafe { Module::deserialize(engine, code) };
    match loaded {
        Ok(module) => Cached::Loaded(module),
        Err(_) => Cached::Refused("wasmtime refuses it for this engine"),
    }
}

/// Writes the cache file whole or not at all: to a private temporary file,
/// then renamed, so that concurrent processes never read half a file.
fn write_cache(dir: &Path, path: &Path, code: &[u8]) {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temporary)
        })
        .and_then(|mut file| {
            file.write_all(CACHE_MAGIC)?;
            file.write_all(&Sha256::digest(code))?;
            file.write_all(code)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = written {
        tracing::warn!(file = %path.display(), %error, "could not cache the plugin machine code");
        let _ = std::fs::remove_file(&temporary);
    }
}

fn cache_path(engine: &Engine, dir: &Path) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let engine_key = hasher.finish();
    dir.join(format!(
        "plugin-{}-{engine_key:016x}.cwasm",
        &plugin_id()[..16]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_is_a_wasm_module_with_a_stable_id() {
        assert_eq!(&PLUGIN_WASM[..4], b"\0asm");
        assert_eq!(plugin_id().len(), 64);
        assert_eq!(plugin_id(), plugin_id());
    }

    #[test]
    fn the_cache_returns_the_same_module_in_a_new_engine() {
        let dir =
            std::env::temp_dir().join(format!("actions-plugin-cache-test-{}", std::process::id()));
        let first = compile_plugin(&Engine::default(), Some(&dir)).expect("compiles");
        let second = compile_plugin(&Engine::default(), Some(&dir)).expect("loads");
        let exports = |m: &Module| m.exports().map(|e| e.name().to_owned()).collect::<Vec<_>>();
        assert_eq!(exports(&first), exports(&second));
        assert!(exports(&first).iter().any(|e| e == "invoke"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_cache_file_that_does_not_check_out_is_rebuilt() {
        let dir = std::env::temp_dir().join(format!(
            "actions-plugin-cache-refused-{}",
            std::process::id()
        ));
        let engine = Engine::default();
        compile_plugin(&engine, Some(&dir)).expect("compiles");
        let path = cache_path(&engine, &dir);
        let written = std::fs::read(&path).expect("cached");
        for damaged in [
            written[..written.len() / 2].to_vec(),
            written[CACHE_MAGIC.len() + DIGEST_BYTES..].to_vec(),
        ] {
            std::fs::write(&path, &damaged).expect("damage");
            assert!(matches!(read_cache(&engine, &path), Cached::Refused(_)));
            compile_plugin(&engine, Some(&dir)).expect("compiles again");
            assert_eq!(std::fs::read(&path).expect("cached"), written);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
