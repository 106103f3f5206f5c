//! The compiler through its real parts: oxc, the bundler, the plugin's
//! QuickJS compiler in wasmtime, and the module encoder.

use actions_compiler::{CompileError, Compiler, SourcePackage};
use actions_test_support::{cache_dir, examples};
use std::collections::BTreeMap;
use std::sync::LazyLock;

static COMPILER: LazyLock<Compiler> =
    LazyLock::new(|| Compiler::new(Some(&cache_dir!())).expect("compiler starts"));

fn package(files: &[(&str, &[u8])], entry: &str) -> SourcePackage {
    let files: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, b)| ((*p).to_owned(), b.to_vec()))
        .collect();
    SourcePackage::new(files, entry).expect("valid package")
}

#[test]
fn every_example_compiles_to_a_small_module() {
    for group in ["starters", "patterns"] {
        for entry in std::fs::read_dir(examples().join(group)).expect("examples exist") {
            let dir = entry.expect("entry").path();
            let package = SourcePackage::load(&dir).expect("loads");
            let compiled = COMPILER
                .compile(&package)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            assert!(
                compiled.wasm.len() < 8 * 1024,
                "{}: {} bytes",
                dir.display(),
                compiled.wasm.len()
            );
            wasmparser::Validator::new()
                .validate_all(&compiled.wasm)
                .expect("valid wasm");
            assert_eq!(compiled.plugin_id, actions_plugin_host::plugin_id());
        }
    }
}

#[test]
fn the_same_source_gives_the_same_bytes() {
    let dir = examples().join("starters/domain-allowlist");
    let first = COMPILER
        .compile(&SourcePackage::load(&dir).expect("loads"))
        .expect("compiles");
    // A second compiler: nothing carried over in memory.
    let other = Compiler::new(Some(&cache_dir!())).expect("compiler starts");
    let second = other
        .compile(&SourcePackage::load(&dir).expect("loads"))
        .expect("compiles");
    assert_eq!(first.wasm, second.wasm);
    assert_eq!(first.sha256, second.sha256);
    let changed = package(
        &[("index.ts", b"export function execute() { return 2; }")],
        "index.ts",
    );
    let original = package(
        &[("index.ts", b"export function execute() { return 1; }")],
        "index.ts",
    );
    assert_ne!(
        COMPILER.compile(&changed).expect("compiles").sha256,
        COMPILER.compile(&original).expect("compiles").sha256
    );
}

#[test]
fn bundles_every_kind_of_relative_import_and_export() {
    let compiled = COMPILER
        .compile(&package(
            &[
                ("src/index.ts", b"import def, { twice as double } from './lib/math';\nimport * as strings from './lib/strings.js';\nexport { execute } from './run';\nexport const answer = double(def);\nvoid strings;\n"),
                ("src/run.ts", b"import { shout } from './lib/strings';\nexport async function execute() { return shout('ok'); }\n"),
                ("src/lib/math.ts", b"export default 21;\nexport function twice(n: number): number { return n * 2; }\n"),
                ("src/lib/strings.ts", b"export enum Case { Upper, Lower }\nexport const shout = (s: string, c: Case = Case.Upper) => c === Case.Upper ? s.toUpperCase() : s;\nexport * from './more';\n"),
                ("src/lib/more/index.ts", b"export namespace Util { export const x = 1; }\n"),
            ],
            "src/index.ts",
        ))
        .expect("compiles");
    let js = &compiled.javascript;
    for file in [
        "src/lib/math.ts",
        "src/lib/more/index.ts",
        "src/lib/strings.ts",
        "src/run.ts",
        "src/index.ts",
    ] {
        assert!(
            js.contains(&format!("// {file}")),
            "{file} missing from\n{js}"
        );
    }
    assert!(!js.contains("import "), "{js}");
}

fn compile_error(files: &[(&str, &[u8])], entry: &str) -> CompileError {
    COMPILER
        .compile(&package(files, entry))
        .expect_err("does not compile")
}

fn at(error: &CompileError) -> (String, u32, u32) {
    let location = error
        .location()
        .unwrap_or_else(|| panic!("{error} has no location"));
    (location.file.clone(), location.line, location.column)
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let error = compile_error(
        &[(
            "src/index.ts",
            b"export function execute() {\n  const x = ;\n}\n",
        )],
        "src/index.ts",
    );
    assert!(matches!(error, CompileError::Syntax { .. }), "{error}");
    assert_eq!(at(&error), ("src/index.ts".into(), 2, 13));

    // In an imported file, the error names that file.
    let error = compile_error(
        &[
            (
                "index.ts",
                b"import { a } from './a';\nexport function execute() { a(); }\n",
            ),
            ("a.ts", b"export function a() {\n  return }}\n"),
        ],
        "index.ts",
    );
    assert!(matches!(error, CompileError::Syntax { .. }), "{error}");
    assert_eq!(at(&error).0, "a.ts");

    // Early errors, not only grammar.
    let error = compile_error(
        &[(
            "index.ts",
            b"let a = 1;\nlet a = 2;\nexport function execute() {}\n",
        )],
        "index.ts",
    );
    assert!(matches!(error, CompileError::Syntax { .. }), "{error}");
    assert_eq!(at(&error).1, 2);
}

#[test]
fn a_missing_execute_export_is_an_error() {
    let error = compile_error(
        &[(
            "index.ts",
            b"export function run() {}\nfunction execute() {}\n",
        )],
        "index.ts",
    );
    assert!(
        matches!(error, CompileError::MissingExecute { .. }),
        "{error}"
    );
    assert_eq!(at(&error), ("index.ts".into(), 1, 1));
}

#[test]
fn non_relative_and_unresolved_imports_are_errors() {
    let error = compile_error(
        &[(
            "index.ts",
            b"import x from 'node:fs';\nexport function execute() { return x; }\n",
        )],
        "index.ts",
    );
    assert!(
        matches!(error, CompileError::NonRelativeImport { ref specifier, .. } if specifier == "node:fs"),
        "{error}"
    );
    assert_eq!(at(&error), ("index.ts".into(), 1, 15));

    let error = compile_error(
        &[(
            "index.ts",
            b"\nimport { y } from './missing';\nexport function execute() { y(); }\n",
        )],
        "index.ts",
    );
    assert!(
        matches!(error, CompileError::UnresolvedImport { .. }),
        "{error}"
    );
    assert_eq!(at(&error), ("index.ts".into(), 2, 19));

    let error = compile_error(
        &[(
            "index.ts",
            b"import '../outside';\nexport function execute() {}\n",
        )],
        "index.ts",
    );
    assert!(
        matches!(error, CompileError::UnresolvedImport { .. }),
        "{error}"
    );
}

#[test]
fn not_utf8_and_empty_files_are_errors() {
    let error = compile_error(
        &[("index.ts", b"export function execute() {}\n// caf\xe9\n")],
        "index.ts",
    );
    assert!(
        matches!(error, CompileError::NotUtf8 { offset: 35, .. }),
        "{error}"
    );
    assert_eq!(at(&error), ("index.ts".into(), 2, 7));

    let error = compile_error(&[("index.ts", b"  \n\t\n")], "index.ts");
    assert!(matches!(error, CompileError::EmptyFile { .. }), "{error}");
}

#[test]
fn constructs_the_sandbox_cannot_run_are_errors() {
    for (source, line) in [
        (
            &b"export async function execute() { await import('./x'); }"[..],
            1,
        ),
        (
            b"function d(t: any) { return t; }\n@d\nclass A {}\nexport function execute() {}",
            2,
        ),
        (b"export function execute() { return import.meta; }", 1),
    ] {
        let error = compile_error(&[("index.ts", source)], "index.ts");
        assert!(matches!(error, CompileError::Unsupported { .. }), "{error}");
        assert_eq!(at(&error).1, line);
    }
}

#[test]
fn packages_from_disk_use_src_index_and_skip_tests() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("tests")).expect("mkdir");
    std::fs::write(
        dir.path().join("src/index.ts"),
        "export function execute() {}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("tests/broken.ts"),
        "this is not ( typescript",
    )
    .expect("write");
    let package = SourcePackage::load(dir.path()).expect("loads");
    assert_eq!(package.entry(), "src/index.ts");
    assert!(COMPILER.compile(&package).is_ok());

    let empty = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        SourcePackage::load(empty.path()),
        Err(CompileError::MissingEntry { .. })
    ));
}
