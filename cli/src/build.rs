//! `action build`.

use crate::{Status, output};
use actions_compiler::{CompileError, CompiledAction, Compiler, SourcePackage};
use anyhow::Context as _;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub(crate) struct BuildArgs {
    /// The Action: a .ts file, or a folder with src/index.ts.
    path: PathBuf,
    /// Where to write the module (default: <name>.wasm beside the source, or <folder>/dist/action.wasm).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &BuildArgs) -> anyhow::Result<Status> {
    let compiled = match compile(&args.path, args.json)? {
        Ok(compiled) => compiled,
        Err(error) => return Ok(report_compile_error(&error, args.json)),
    };
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.path));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out, &compiled.wasm).with_context(|| format!("writing {}", out.display()))?;
    if args.json {
        output::print_json(&json!({
            "sha256": compiled.sha256,
            "size": compiled.wasm.len(),
            "output": out.display().to_string(),
        }));
    } else {
        crate::outln!(
            "built {} ({} bytes, sha256 {})",
            out.display(),
            compiled.wasm.len(),
            compiled.sha256
        );
    }
    Ok(Status::Ok)
}

/// Loads and compiles; the outer error is for files that cannot be read.
pub(crate) fn compile(
    path: &Path,
    quiet: bool,
) -> anyhow::Result<Result<CompiledAction, CompileError>> {
    crate::secret_types::refresh(path)?;
    let package = match SourcePackage::load(path) {
        Ok(package) => package,
        Err(error) => return Ok(Err(error)),
    };
    if !quiet {
        eprintln!("compiling {}", path.display());
    }
    let compiler = Compiler::new(crate::cache_dir().as_deref()).context("starting the compiler")?;
    Ok(compiler.compile(&package))
}

pub(crate) fn report_compile_error(error: &CompileError, json: bool) -> Status {
    if json {
        let location = error
            .location()
            .map(|at| json!({ "file": at.file, "line": at.line, "column": at.column }));
        output::print_json(&json!({ "error": error.to_string(), "location": location }));
    } else {
        eprintln!("error: {error}");
    }
    Status::BadInput
}

fn default_output(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("dist").join("action.wasm")
    } else {
        path.with_extension("wasm")
    }
}
