//! Javy's dynamically linked module format, emitted with `wasm-encoder`.
//!
//! The module holds the QuickJS bytecode as a passive data segment and one
//! export, `_start`, which asks the plugin for memory (`cabi_realloc`),
//! copies the bytecode in (`memory.init`) and calls the plugin's `invoke`.
//! It imports those three items from [`IMPORT_NAMESPACE`]; a custom section
//! names the plugin build the bytecode was made for. The result is a few
//! hundred bytes more than the bytecode, and all Actions share one plugin.

use actions_plugin_host::{IMPORT_NAMESPACE, PLUGIN_ID_SECTION};
use wasm_encoder::{
    CodeSection, CustomSection, DataCountSection, DataSection, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, ImportSection, MemoryType, Module, TypeSection,
    ValType,
};

/// The export a runner calls to run the Action.
pub const ENTRY_EXPORT: &str = "_start";

const REALLOC: u32 = 0;
const INVOKE: u32 = 1;
const START: u32 = 2;

pub(crate) fn emit(bytecode: &[u8], plugin_id: &str) -> Vec<u8> {
    let len = i32::try_from(bytecode.len()).unwrap_or(i32::MAX);
    let i32s = |n| vec![ValType::I32; n];

    let mut types = TypeSection::new();
    types.ty().function(i32s(4), i32s(1)); // cabi_realloc(old, old_size, align, new_size) -> ptr
    types.ty().function(i32s(5), []); // invoke(bytecode, len, has_fn, fn, fn_len)
    types.ty().function([], []); // _start

    let mut imports = ImportSection::new();
    imports.import(
        IMPORT_NAMESPACE,
        "cabi_realloc",
        EntityType::Function(REALLOC),
    );
    imports.import(IMPORT_NAMESPACE, "invoke", EntityType::Function(INVOKE));
    imports.import(
        IMPORT_NAMESPACE,
        "memory",
        EntityType::Memory(MemoryType {
            minimum: 0,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        }),
    );

    let mut functions = FunctionSection::new();
    functions.function(START);

    let mut exports = ExportSection::new();
    // Two imported functions come first in the index space.
    exports.export(ENTRY_EXPORT, ExportKind::Func, 2);

    let mut start = Function::new([(1, ValType::I32)]);
    let bytecode_ptr = 0;
    start
        .instructions()
        .i32_const(0)
        .i32_const(0)
        .i32_const(1)
        .i32_const(len)
        .call(REALLOC)
        .local_tee(bytecode_ptr)
        .i32_const(0)
        .i32_const(len)
        .memory_init(0, 0)
        .local_get(bytecode_ptr)
        .i32_const(len)
        .i32_const(0)
        .i32_const(0)
        .i32_const(0)
        .call(INVOKE)
        .end();
    let mut code = CodeSection::new();
    code.function(&start);

    let mut data = DataSection::new();
    data.passive(bytecode.iter().copied());

    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&exports)
        .section(&DataCountSection { count: 1 })
        .section(&code)
        .section(&data)
        .section(&CustomSection {
            name: PLUGIN_ID_SECTION.into(),
            data: plugin_id.as_bytes().into(),
        });
    module.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emitted_modules_validate_and_name_their_plugin() {
        let wasm = emit(b"not really bytecode", "abc");
        wasmparser::Validator::new()
            .validate_all(&wasm)
            .expect("valid wasm");
        let custom = wasmparser::Parser::new(0)
            .parse_all(&wasm)
            .filter_map(Result::ok)
            .find_map(|payload| match payload {
                wasmparser::Payload::CustomSection(c) if c.name() == PLUGIN_ID_SECTION => {
                    Some(c.data().to_vec())
                }
                _ => None,
            });
        assert_eq!(custom.as_deref(), Some(&b"abc"[..]));
    }
}
