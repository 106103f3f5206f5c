//! One file of an Action: TypeScript (or JavaScript) in, plain ES module
//! JavaScript out, with the relative imports it still has after types are
//! stripped.
//!
//! The front end is oxc: parse, early errors, the TypeScript transform (types
//! stripped, enums and namespaces lowered, decorators refused), code
//! generation. Nothing is down-levelled: QuickJS runs modern JavaScript.

use crate::{CompileError, SourceLocation};
use oxc::allocator::Allocator;
use oxc::ast::ast::{
    ArrowFunctionExpression, AwaitExpression, Decorator, ForOfStatement, Function,
    ImportExpression, ImportMeta, Program, Statement, TSExportAssignment,
    TSImportEqualsDeclaration,
};
use oxc::ast_visit::{Visit, walk};
use oxc::codegen::{Codegen, CodegenOptions, CommentOptions};
use oxc::diagnostics::OxcDiagnostic;
use oxc::parser::Parser;
use oxc::semantic::ScopeFlags;
use oxc::semantic::SemanticBuilder;
use oxc::span::{SourceType, Span};
use oxc::transformer::{TransformOptions, Transformer};
use std::path::Path;

/// A module after the TypeScript transform.
#[derive(Debug)]
pub(crate) struct TranspiledModule {
    /// Package-relative path.
    pub path: String,
    /// The module as JavaScript (still with its `import`/`export` statements).
    pub js: String,
    /// The modules it imports, in source order, with where each import is.
    pub imports: Vec<ImportSite>,
    /// Whether it awaits at its top level: only then is its factory async
    /// (an async factory costs every run a promise and a resume).
    pub top_level_await: bool,
}

/// One `import … from "specifier"` (or `export … from`).
#[derive(Debug, Clone)]
pub(crate) struct ImportSite {
    pub specifier: String,
    pub at: SourceLocation,
}

pub(crate) fn transpile(path: &str, bytes: &[u8]) -> Result<TranspiledModule, CompileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let valid = String::from_utf8_lossy(&bytes[..offset]).into_owned();
        CompileError::NotUtf8 {
            at: SourceLocation::at_offset(path, &valid, offset),
            offset,
        }
    })?;
    if text.trim().is_empty() {
        return Err(CompileError::EmptyFile {
            at: SourceLocation::start_of(path),
        });
    }
    crate::nesting::check(path, text)?;
    let source_type = source_type_of(path)?;
    let locate = |span: Span| SourceLocation::at_offset(path, text, span.start as usize);
    let syntax = |diagnostic: &OxcDiagnostic| CompileError::Syntax {
        // The primary label if one is marked, else the last: in two-label
        // diagnostics ("declared here" / "redeclared here") the last is the
        // offending place.
        at: diagnostic
            .labels
            .iter()
            .find(|l| l.primary())
            .or_else(|| diagnostic.labels.last())
            .map_or_else(
                || SourceLocation::start_of(path),
                |l| SourceLocation::at_offset(path, text, l.offset() as usize),
            ),
        message: match &diagnostic.help {
            Some(help) => format!("{}; {help}", diagnostic.message),
            None => diagnostic.message.to_string(),
        },
    };

    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, text, source_type).parse();
    if let Some(first) = parsed.diagnostics.errors().next() {
        return Err(syntax(first));
    }
    let mut program = parsed.program;

    let mut unsupported = UnsupportedConstructs::default();
    unsupported.visit_program(&program);
    if let Some((span, construct)) = unsupported.first {
        return Err(CompileError::Unsupported {
            at: locate(span),
            construct: construct.to_owned(),
        });
    }

    let semantic = SemanticBuilder::new()
        .with_check_syntax_error(true)
        .with_enum_eval(true)
        .build(&program);
    if let Some(first) = semantic.diagnostics.errors().next() {
        return Err(syntax(first));
    }
    let scoping = semantic.semantic.into_scoping();

    let options = TransformOptions::default();
    let transformed = Transformer::new(&allocator, Path::new(path), &options)
        .build_with_scoping(scoping, &mut program);
    if let Some(first) = transformed.diagnostics.errors().next() {
        return Err(syntax(first));
    }

    // Imports that survive the transform are the ones that load code; their
    // spans still point into the original file.
    let imports = import_sites(&program, &locate);
    let mut awaits = TopLevelAwait::default();
    awaits.visit_program(&program);
    let js = Codegen::new()
        .with_options(CodegenOptions {
            comments: CommentOptions::disabled(),
            // Indentation grows with nesting: 25,000 nested `if`s would print
            // 300 MB of tabs. Nobody reads this code; QuickJS does.
            indent_width: 0,
            ..CodegenOptions::default()
        })
        .build(&program)
        .code;
    Ok(TranspiledModule {
        path: path.to_owned(),
        js,
        imports,
        top_level_await: awaits.found,
    })
}

fn source_type_of(path: &str) -> Result<SourceType, CompileError> {
    let extension = Path::new(path).extension().and_then(|e| e.to_str());
    let source_type = match extension {
        Some("ts" | "mts") => SourceType::ts(),
        Some("js" | "mjs") => SourceType::mjs(),
        _ => {
            return Err(CompileError::UnsupportedFileType {
                file: path.to_owned(),
            });
        }
    };
    Ok(source_type.with_module(true))
}

fn import_sites(program: &Program<'_>, locate: &dyn Fn(Span) -> SourceLocation) -> Vec<ImportSite> {
    program
        .body
        .iter()
        .filter_map(|statement| match statement {
            Statement::ImportDeclaration(import) => Some(&import.source),
            Statement::ExportFromDeclaration(export) => Some(&export.source),
            Statement::ExportAllDeclaration(export) => Some(&export.source),
            _ => None,
        })
        .map(|source| ImportSite {
            specifier: source.value.to_string(),
            at: locate(source.span),
        })
        .collect()
}

/// Finds `await` (or `for await`) outside every function.
#[derive(Default)]
struct TopLevelAwait {
    found: bool,
}

impl<'a> Visit<'a> for TopLevelAwait {
    fn visit_function(&mut self, _: &Function<'a>, _: ScopeFlags) {}

    fn visit_arrow_function_expression(&mut self, _: &ArrowFunctionExpression<'a>) {}

    fn visit_await_expression(&mut self, _: &AwaitExpression<'a>) {
        self.found = true;
    }

    fn visit_for_of_statement(&mut self, it: &ForOfStatement<'a>) {
        self.found |= it.r#await;
        walk::walk_for_of_statement(self, it);
    }
}

/// Constructs that parse but that a bundled, sandboxed Action cannot run.
#[derive(Default)]
struct UnsupportedConstructs {
    first: Option<(Span, &'static str)>,
}

impl UnsupportedConstructs {
    fn found(&mut self, span: Span, construct: &'static str) {
        if self.first.is_none_or(|(seen, _)| span.start < seen.start) {
            self.first = Some((span, construct));
        }
    }
}

impl<'a> Visit<'a> for UnsupportedConstructs {
    fn visit_decorator(&mut self, it: &Decorator<'a>) {
        self.found(it.span, "a decorator");
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        self.found(it.span, "dynamic import()");
    }

    fn visit_import_meta(&mut self, it: &ImportMeta) {
        self.found(it.span, "import.meta");
    }

    fn visit_ts_export_assignment(&mut self, it: &TSExportAssignment<'a>) {
        self.found(it.span, "`export =` (use `export function execute`)");
    }

    fn visit_ts_import_equals_declaration(&mut self, it: &TSImportEqualsDeclaration<'a>) {
        self.found(
            it.span,
            "`import x = require(...)` (use `import x from './x'`)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_types_and_lowers_enums() {
        let out = transpile(
            "a.ts",
            b"enum Tier { Free, Gold }\ninterface U { tier: Tier }\nexport const t: number = Tier.Gold;\n",
        )
        .expect("compiles");
        assert!(!out.js.contains("interface"), "{}", out.js);
        assert!(!out.js.contains(": number"), "{}", out.js);
        assert!(out.js.contains("Gold"), "{}", out.js);
    }

    #[test]
    fn type_only_imports_disappear() {
        let out = transpile(
            "a.ts",
            b"import type { Event } from '@actions/types';\nimport { x } from './x';\nexport const y: Event | number = x;\n",
        )
        .expect("compiles");
        let specifiers: Vec<_> = out.imports.iter().map(|i| i.specifier.as_str()).collect();
        assert_eq!(specifiers, ["./x"]);
        assert_eq!((out.imports[0].at.line, out.imports[0].at.column), (2, 19));
    }

    #[test]
    fn syntax_errors_name_the_place() {
        let err = transpile(
            "src/a.ts",
            b"export function execute() {\n  return (1 + ;\n}\n",
        )
        .expect_err("does not compile");
        let at = err.location().expect("has a location");
        assert_eq!((at.file.as_str(), at.line), ("src/a.ts", 2));
    }

    #[test]
    fn decorators_are_refused() {
        let err = transpile("a.ts", b"function d(x: any) { return x }\n@d class A {}\n")
            .expect_err("refused");
        assert!(matches!(err, CompileError::Unsupported { ref at, .. } if at.line == 2));
    }
}
