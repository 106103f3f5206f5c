//! The compile path, source to module: any bytes as `index.ts` either
//! compile to a module the runner accepts, or fail with a
//! `CompileError`. Nothing panics, nothing hangs, nothing overflows.
//!
//! Inputs are taken as they are, or (when the first byte is 0xF0 or more)
//! as a short piece repeated up to the file cap between a prefix and a
//! suffix, so that the fuzzer reaches deep and long sources, where the
//! parser's recursion and the nesting bounds are, and not only small ones.
#![no_main]

use actions_compiler::{Compiler, MAX_FILE_BYTES, SourcePackage};
use actions_runner::{Sandbox, SandboxConfig};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static COMPILER: LazyLock<Compiler> =
    LazyLock::new(|| Compiler::new(None).expect("the compiler starts"));
static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| {
    Sandbox::new(SandboxConfig {
        max_concurrent_runs: 1,
        ..SandboxConfig::default()
    })
    .expect("the sandbox starts")
});

fuzz_target!(
    init: {
        // Compiling the plugin takes seconds (more when instrumented): do it
        // before the clock starts, not in the first input.
        LazyLock::force(&COMPILER);
        LazyLock::force(&SANDBOX);
    },
    |data: &[u8]| {
        let Ok(package) = SourcePackage::single("index.ts", shaped(data)) else {
            return;
        };
        match COMPILER.compile(&package) {
            Ok(compiled) => {
                SANDBOX
                    .load(&compiled.wasm)
                    .expect("every module the compiler makes loads in the runner");
            }
            Err(error) => {
                let _ = error.location();
                assert!(!error.to_string().is_empty());
            }
        }
    }
);

/// `data` as it is, or: selector byte (0xF0..), repeat count (two bytes,
/// times 16), piece length (one byte), then the piece, then the suffix; the
/// bytes before the selector's piece are the prefix `export async function
/// execute(event, api) { return `.
fn shaped(data: &[u8]) -> Vec<u8> {
    let Some((&selector, rest)) = data.split_first() else {
        return Vec::new();
    };
    if selector < 0xF0 || rest.len() < 4 {
        return data.to_vec();
    }
    let times = usize::from(u16::from_le_bytes([rest[0], rest[1]])) * 16;
    let body = &rest[3..];
    let (piece, suffix) = body.split_at(usize::from(rest[2]).min(body.len()));
    let mut source = b"export async function execute(event, api) { return ".to_vec();
    if !piece.is_empty() {
        for _ in 0..times {
            if source.len() + piece.len() > MAX_FILE_BYTES {
                break;
            }
            source.extend_from_slice(piece);
        }
    }
    source.extend_from_slice(suffix);
    source
}
