//! The Actions compiler: an Action's TypeScript package in, a small
//! dynamically linked Javy module out.
//!
//! ```text
//! SourcePackage ─ oxc (type-strip, enums) ─ bundle (relative imports) ─
//!   plugin `compile-src` (QuickJS bytecode) ─ wasm-encoder (Javy dynamic module)
//! ```
//!
//! The same package always gives the same bytes and the same SHA-256. Every
//! error names the file, line and column it is about, and nothing is
//! produced when there is one. Compiling is CPU work of a few milliseconds to
//! a few hundred: async callers run [`Compiler::compile`] on a blocking
//! thread.

mod bundle;
mod bytecode;
mod dynamic_module;
mod error;
mod source;
mod typescript;

pub use dynamic_module::ENTRY_EXPORT;
pub use error::{CompileError, SourceLocation};
pub use source::{MAX_FILE_BYTES, MAX_PACKAGE_BYTES, SOURCE_EXTENSIONS, SourcePackage};

use bytecode::BytecodeCompiler;
use sha2::{Digest, Sha256};
use std::path::Path;
use wasmtime::{Config, Engine};

/// A compiled Action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledAction {
    /// The dynamically linked module.
    pub wasm: Vec<u8>,
    /// Hex SHA-256 of `wasm`: the module's identity everywhere else.
    pub sha256: String,
    /// The bundled JavaScript the bytecode was made from.
    pub javascript: String,
    /// The plugin build the module needs (see `actions_plugin_host::plugin_id`).
    pub plugin_id: String,
}

/// Compiles Actions. Holds the plugin, compiled once; cheap to share.
pub struct Compiler {
    bytecode: BytecodeCompiler,
}

impl Compiler {
    /// Prepares a compiler. This compiles the plugin (seconds) unless
    /// `cache_dir` holds it from an earlier process (milliseconds).
    pub fn new(cache_dir: Option<&Path>) -> Result<Self, CompileError> {
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine = Engine::new(&config)
            .map_err(|e| CompileError::Internal(format!("creating the engine: {e}")))?;
        let plugin = actions_plugin_host::compile_plugin(&engine, cache_dir)
            .map_err(|e| CompileError::Internal(e.to_string()))?;
        Ok(Self {
            bytecode: BytecodeCompiler::new(&engine, &plugin)?,
        })
    }

    /// Compiles a package.
    pub fn compile(&self, package: &SourcePackage) -> Result<CompiledAction, CompileError> {
        let javascript = bundle::bundle(package)?;
        let bytecode = self.bytecode.compile(&javascript)?;
        let plugin_id = actions_plugin_host::plugin_id().to_owned();
        let wasm = dynamic_module::emit(&bytecode, &plugin_id);
        Ok(CompiledAction {
            sha256: hex::encode(Sha256::digest(&wasm)),
            wasm,
            javascript,
            plugin_id,
        })
    }
}
