//! The compile path, source to module: any bytes as `index.ts` either
//! compile to a module the runner accepts, or fail with a located
//! `CompileError`. Nothing panics, nothing hangs.
#![no_main]

use actions_compiler::{Compiler, SourcePackage};
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
    |source: &[u8]| {
        let Ok(package) = SourcePackage::single("index.ts", source.to_vec()) else {
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
