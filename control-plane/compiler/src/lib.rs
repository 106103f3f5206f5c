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
//!
//! No input can crash, hang or exhaust the process that compiles: sources
//! are capped in size ([`MAX_FILE_BYTES`], [`MAX_PACKAGE_BYTES`]) and in how
//! deep they nest ([`MAX_OPEN_BRACKETS`], [`MAX_SEGMENT_DEPTH`], checked
//! before parsing), the native stages run on a thread of their own with a
//! [`COMPILE_STACK_BYTES`] stack that the deepest allowed source cannot
//! exhaust, QuickJS's stage runs in a sandbox with a memory cap and fuel,
//! and the module produced is capped at [`MAX_MODULE_BYTES`].

mod bundle;
mod bytecode;
mod dynamic_module;
mod error;
mod nesting;
mod source;
mod typescript;

pub use bundle::{AUTH0_HANDLERS, EntryPoint};
pub use dynamic_module::ENTRY_EXPORT;
pub use error::{CompileError, SourceLocation};
pub use nesting::{MAX_OPEN_BRACKETS, MAX_SEGMENT_DEPTH};
pub use source::{MAX_FILE_BYTES, MAX_PACKAGE_BYTES, SOURCE_EXTENSIONS, SourcePackage};

use bytecode::BytecodeCompiler;
use sha2::{Digest, Sha256};
use std::path::Path;
use wasmtime::{Config, Engine};

/// The stack of the thread each compile runs on. Reserved, not used: the
/// pages the deepest allowed source touches are a small part of it (see
/// `tests/hostile.rs`), and a thread's default 2 MiB would not do.
pub const COMPILE_STACK_BYTES: usize = 512 * 1024 * 1024;

/// The largest bundle handed to QuickJS (the package's modules as one
/// script; about the size of the sources, which are at most 4 MiB).
pub const MAX_BUNDLE_BYTES: usize = 8 * 1024 * 1024;

/// The largest module a compile may produce.
pub const MAX_MODULE_BYTES: usize = 16 * 1024 * 1024;

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
    /// What the entry offers: `execute`, or Auth0 handlers for some triggers.
    pub entry_point: EntryPoint,
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

    /// Compiles a package, on a thread of its own with a
    /// [`COMPILE_STACK_BYTES`] stack (the caller's thread waits).
    pub fn compile(&self, package: &SourcePackage) -> Result<CompiledAction, CompileError> {
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("compile".into())
                .stack_size(COMPILE_STACK_BYTES)
                .spawn_scoped(scope, || self.compile_here(package))
                .map_err(|e| CompileError::Internal(format!("starting the compile thread: {e}")))?
                .join()
                .map_err(|_| CompileError::Internal("the compile thread panicked".into()))?
        })
    }

    fn compile_here(&self, package: &SourcePackage) -> Result<CompiledAction, CompileError> {
        let bundle::Bundle {
            javascript,
            entry: entry_point,
        } = bundle::bundle(package)?;
        if javascript.len() > MAX_BUNDLE_BYTES {
            return Err(CompileError::TooLarge {
                what: "the bundled JavaScript".into(),
                size: javascript.len(),
                limit: MAX_BUNDLE_BYTES,
            });
        }
        let bytecode = self.bytecode.compile(&javascript)?;
        let plugin_id = actions_plugin_host::plugin_id().to_owned();
        let wasm = dynamic_module::emit(&bytecode, &plugin_id);
        if wasm.len() > MAX_MODULE_BYTES {
            return Err(CompileError::TooLarge {
                what: "the compiled module".into(),
                size: wasm.len(),
                limit: MAX_MODULE_BYTES,
            });
        }
        Ok(CompiledAction {
            sha256: hex::encode(Sha256::digest(&wasm)),
            wasm,
            javascript,
            plugin_id,
            entry_point,
        })
    }
}
