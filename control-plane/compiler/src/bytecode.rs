//! JavaScript → QuickJS bytecode, by the plugin's own `compile-src` export,
//! so that the bytecode matches the exact QuickJS build that will run it.

use crate::CompileError;
use wasmtime::{Engine, InstancePre, Linker, Store, StoreLimits, StoreLimitsBuilder, TypedFunc};

/// Memory the plugin may use while compiling one Action.
const COMPILE_MEMORY_BYTES: usize = 256 * 1024 * 1024;
/// About four seconds of QuickJS parsing; a bound, not an expectation.
const COMPILE_FUEL: u64 = 20_000_000_000;

pub(crate) struct BytecodeCompiler {
    plugin: InstancePre<StoreLimits>,
}

impl BytecodeCompiler {
    pub(crate) fn new(engine: &Engine, plugin: &wasmtime::Module) -> Result<Self, CompileError> {
        let mut linker = Linker::new(engine);
        // Compiling calls neither the host nor WASI; were it to, the trap
        // would say so rather than do anything.
        linker
            .define_unknown_imports_as_traps(plugin)
            .map_err(|e| CompileError::Internal(format!("linking the plugin: {e}")))?;
        let plugin = linker
            .instantiate_pre(plugin)
            .map_err(|e| CompileError::Internal(format!("linking the plugin: {e}")))?;
        Ok(Self { plugin })
    }

    /// A fresh plugin instance per compile: `compile-src` keeps its result in
    /// a once-only cell, and no compile can see another's state.
    pub(crate) fn compile(&self, js: &str) -> Result<Vec<u8>, CompileError> {
        let internal =
            |what: &str, e: wasmtime::Error| CompileError::Internal(format!("{what}: {e}"));
        let mut store = Store::new(
            self.plugin.module().engine(),
            StoreLimitsBuilder::new()
                .memory_size(COMPILE_MEMORY_BYTES)
                .build(),
        );
        store.limiter(|limits| limits);
        store
            .set_fuel(COMPILE_FUEL)
            .map_err(|e| internal("setting fuel", e))?;
        let instance = self
            .plugin
            .instantiate(&mut store)
            .map_err(|e| internal("instantiating the plugin", e))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| CompileError::Internal("the plugin exports no memory".into()))?;
        let realloc: TypedFunc<(u32, u32, u32, u32), u32> = instance
            .get_typed_func(&mut store, "cabi_realloc")
            .map_err(|e| internal("cabi_realloc", e))?;
        let compile_src: TypedFunc<(u32, u32), u32> = instance
            .get_typed_func(&mut store, "compile-src")
            .map_err(|e| internal("compile-src", e))?;

        let len = u32::try_from(js.len())
            .map_err(|_| CompileError::Internal("the bundle is over 4 GiB".into()))?;
        let ptr = realloc
            .call(&mut store, (0, 0, 1, len))
            .map_err(|e| internal("allocating the source", e))?;
        memory
            .write(&mut store, ptr as usize, js.as_bytes())
            .map_err(|e| CompileError::Internal(format!("writing the source: {e}")))?;
        let ret = compile_src
            .call(&mut store, (ptr, len))
            .map_err(|e| CompileError::Bytecode {
                // The trap, not wasmtime's backtrace of QuickJS's insides.
                message: match e.downcast_ref::<wasmtime::Trap>() {
                    Some(wasmtime::Trap::StackOverflow) => "the code nests too deeply for \
                        the JavaScript engine's parser (it ran out of stack); flatten the \
                        most deeply nested expression"
                        .to_owned(),
                    Some(wasmtime::Trap::OutOfFuel) => {
                        "the JavaScript engine's parser took too long on this source".to_owned()
                    }
                    Some(trap) => format!("the JavaScript engine's parser stopped: {trap}"),
                    None => format!("the JavaScript engine's parser stopped: {}", e.root_cause()),
                },
            })?;
        let mut area = [0u8; 12];
        memory
            .read(&store, ret as usize, &mut area)
            .map_err(|e| CompileError::Internal(format!("reading the result: {e}")))?;
        let word = |i: usize| u32::from_le_bytes([area[i], area[i + 1], area[i + 2], area[i + 3]]);
        let (status, out_ptr, out_len) = (word(0), word(4) as usize, word(8) as usize);
        let mut out = vec![0u8; out_len];
        memory
            .read(&store, out_ptr, &mut out)
            .map_err(|e| CompileError::Internal(format!("reading the result: {e}")))?;
        if status == 0 {
            Ok(out)
        } else {
            Err(CompileError::Bytecode {
                message: String::from_utf8_lossy(&out).into_owned(),
            })
        }
    }
}
