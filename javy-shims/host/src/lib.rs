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
pub fn compile_plugin(engine: &Engine, cache_dir: Option<&Path>) -> Result<Module, PluginError> {
    let Some(dir) = cache_dir else {
        return Module::new(engine, PLUGIN_WASM).map_err(PluginError::Compile);
    };
    let path = cache_path(engine, dir);
    if path.is_file() {
        // SAFETY: the file is one this function wrote with `Module::serialize`
        // for an engine of the same compatibility hash (it is in the name);
        // wasmtime checks the header and refuses files of other engines.
        #[allow(unsafe_code)]
        if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
            return Ok(module);
        }
    }
    let module = Module::new(engine, PLUGIN_WASM).map_err(PluginError::Compile)?;
    if let Ok(bytes) = module.serialize() {
        // Write-then-rename, so that concurrent processes never read half a file.
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&temporary, &bytes))
            .and_then(|()| std::fs::rename(&temporary, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }
    Ok(module)
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
}
