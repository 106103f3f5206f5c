//! Bundling: the modules of a package, joined into one script that the
//! plugin's driver runs.
//!
//! Each module becomes a factory (async only when it awaits at its top
//! level), evaluated once, dependencies first; its `import`s become `const`
//! bindings to the factories' results (hoisted
//! to the top of the module, as ES imports are), its `export`s become the
//! getters of the object it returns. The whole bundle is one call of the
//! plugin's `__actions_start` with a loader of the entry module, so that any
//! throw during module evaluation comes back as a value with its stack.
//! Identifiers starting with `__actions$` are reserved for the bundle.

use crate::source::SourcePackage;
use crate::typescript::{ImportSite, TranspiledModule, transpile};
use crate::{CompileError, SourceLocation};
use oxc::allocator::Allocator;
use oxc::ast::ast::{
    AssignmentExpression, AssignmentTarget, Declaration, ExportDefaultDeclarationKind, Expression,
    ImportDeclarationSpecifier, ModuleExportName, ObjectPropertyKind, Statement,
};
use oxc::parser::Parser;
use oxc::span::{GetSpan, SourceType};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// What candidates a relative specifier may name, in order.
const RESOLUTION_SUFFIXES: &[&str] = &["", ".ts", ".mts", ".js", ".mjs", "/index.ts", "/index.js"];

/// Auth0's handler names, each with the trigger it runs at here: a
/// CommonJS entry that assigns them (`exports.onExecutePostLogin = …`) runs
/// unchanged, the handler of the run's trigger called as `execute` is.
pub const AUTH0_HANDLERS: &[(&str, &str)] = &[
    ("onExecutePostLogin", "login.post-login"),
    ("onExecutePreUserRegistration", "registration.pre-create"),
    ("onExecutePostUserRegistration", "registration.post-create"),
];

/// What the entry module offers the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryPoint {
    /// `execute`, which runs at every trigger.
    Execute,
    /// Auth0-style handlers (see [`AUTH0_HANDLERS`]): the triggers they
    /// serve, in the table's order.
    Handlers(Vec<&'static str>),
}

/// A package joined into one script, and what its entry offers.
#[derive(Debug)]
pub(crate) struct Bundle {
    pub javascript: String,
    pub entry: EntryPoint,
}

/// Calls the handler of the run's trigger as `execute`; the trigger names
/// come from [`AUTH0_HANDLERS`].
const HANDLER_DISPATCH: &str = r#"const __actions$handlers = (exported) => ({ execute(event, api) {
const name = __actions$handler_names[event.trigger];
const handler = name === undefined ? undefined : exported[name];
if (typeof handler !== 'function') {
throw new TypeError('the Action has no handler for ' + event.trigger + (name === undefined ? ': only execute runs there' : ': assign exports.' + name));
}
return handler(event, api);
} });
"#;

/// A package, joined into one script for the plugin's driver.
pub(crate) fn bundle(package: &SourcePackage) -> Result<Bundle, CompileError> {
    let mut graph = Graph::default();
    graph.visit(package, package.entry(), &mut Vec::new())?;

    let mut modules = Vec::with_capacity(graph.order.len());
    for (index, path) in graph.order.iter().enumerate() {
        let transpiled = &graph.transpiled[path];
        let rewritten = rewrite(transpiled, &graph.resolved[path], &graph.var_of)?;
        modules.push((index, rewritten));
    }

    let entry_index = graph.var_of[package.entry()];
    let entry = if exports_execute(entry_index, &modules) {
        EntryPoint::Execute
    } else {
        let assigned = modules[entry_index].1.commonjs.clone().unwrap_or_default();
        let handlers: Vec<&'static str> = AUTH0_HANDLERS
            .iter()
            .filter(|(name, _)| assigned.iter().any(|a| a == name))
            .map(|(_, trigger)| *trigger)
            .collect();
        if handlers.is_empty() {
            return Err(CompileError::MissingExecute {
                at: SourceLocation::start_of(package.entry()),
            });
        }
        EntryPoint::Handlers(handlers)
    };

    // Factories are plain functions unless a module awaits at its top level.
    let awaits = |index: usize| graph.transpiled[&graph.order[index]].top_level_await;
    let any_awaits = modules.iter().any(|(index, _)| awaits(*index));
    let mut out = String::from(if any_awaits {
        "__actions_start(async () => {\n"
    } else {
        "__actions_start(() => {\n"
    });
    for (index, module) in &modules {
        let _ = writeln!(out, "// {}", modules_path(&graph, *index));
        if awaits(*index) {
            let _ = writeln!(out, "const {} = await (async () => {{", module_var(*index));
        } else {
            let _ = writeln!(out, "const {} = (() => {{", module_var(*index));
        }
        if module.commonjs.is_some() {
            // CommonJS: what the module assigns to `exports` or
            // `module.exports` is what it exports.
            out.push_str("const module = { exports: {} };\nlet exports = module.exports;\n");
            out.push_str(&module.body);
            out.push_str("\nreturn module.exports;\n})();\n");
            continue;
        }
        out.push_str(&module.hoisted_imports);
        out.push_str(&module.body);
        out.push_str("\nreturn {");
        for star in &module.stars {
            let _ = write!(out, "...{}, ", module_var(*star));
        }
        for (name, expression) in &module.exports {
            let _ = write!(
                out,
                "get {}() {{ return {expression}; }}, ",
                js_string(name)
            );
        }
        out.push_str("};\n})();\n");
    }
    match &entry {
        EntryPoint::Execute => {
            let _ = writeln!(out, "return {};\n}});", module_var(entry_index));
        }
        EntryPoint::Handlers(_) => {
            out.push_str("const __actions$handler_names = {");
            for (name, trigger) in AUTH0_HANDLERS {
                let _ = write!(out, "{}: {}, ", js_string(trigger), js_string(name));
            }
            out.push_str("};\n");
            out.push_str(HANDLER_DISPATCH);
            let _ = writeln!(
                out,
                "return __actions$handlers({});\n}});",
                module_var(entry_index)
            );
        }
    }
    Ok(Bundle {
        javascript: out,
        entry,
    })
}

fn modules_path(graph: &Graph, index: usize) -> &str {
    &graph.order[index]
}

fn module_var(index: usize) -> String {
    format!("__actions$m{index}")
}

#[derive(Default)]
struct Graph {
    transpiled: HashMap<String, TranspiledModule>,
    /// Per module: specifier → resolved path.
    resolved: HashMap<String, HashMap<String, String>>,
    /// Dependencies first, the entry last.
    order: Vec<String>,
    var_of: HashMap<String, usize>,
}

impl Graph {
    fn visit(
        &mut self,
        package: &SourcePackage,
        path: &str,
        stack: &mut Vec<String>,
    ) -> Result<(), CompileError> {
        if self.var_of.contains_key(path) {
            return Ok(());
        }
        let bytes = package
            .file(path)
            .ok_or_else(|| CompileError::MissingEntry {
                entry: path.to_owned(),
            })?;
        let module = transpile(path, bytes)?;
        stack.push(path.to_owned());
        let mut resolved = HashMap::new();
        for site in &module.imports {
            let target = resolve(package, path, site)?;
            if let Some(position) = stack.iter().position(|p| *p == target) {
                let mut cycle = stack[position..].to_vec();
                cycle.push(target);
                return Err(CompileError::CircularImport {
                    at: site.at.clone(),
                    cycle: cycle.join(" -> "),
                });
            }
            self.visit(package, &target, stack)?;
            resolved.insert(site.specifier.clone(), target);
        }
        stack.pop();
        self.var_of.insert(path.to_owned(), self.order.len());
        self.order.push(path.to_owned());
        self.resolved.insert(path.to_owned(), resolved);
        self.transpiled.insert(path.to_owned(), module);
        Ok(())
    }
}

fn resolve(
    package: &SourcePackage,
    importer: &str,
    site: &ImportSite,
) -> Result<String, CompileError> {
    let specifier = site.specifier.as_str();
    if !(specifier.starts_with("./") || specifier.starts_with("../")) {
        return Err(CompileError::NonRelativeImport {
            at: site.at.clone(),
            specifier: specifier.to_owned(),
        });
    }
    let dir = importer.rsplit_once('/').map_or("", |(dir, _)| dir);
    let joined = if dir.is_empty() {
        specifier.to_owned()
    } else {
        format!("{dir}/{specifier}")
    };
    let unresolved = |tried: String| CompileError::UnresolvedImport {
        at: site.at.clone(),
        specifier: specifier.to_owned(),
        tried,
    };
    let base = crate::source::normalise(&joined)
        .map_err(|_| unresolved("a path outside the package".into()))?;
    let mut candidates: Vec<String> = RESOLUTION_SUFFIXES
        .iter()
        .map(|s| format!("{base}{s}"))
        .collect();
    // TypeScript convention: `./x.js` in source means `./x.ts`.
    if let Some(stem) = base.strip_suffix(".js") {
        candidates.insert(1, format!("{stem}.ts"));
    }
    if let Some(found) = candidates
        .iter()
        .find(|c| crate::source::has_source_extension(c) && package.file(c).is_some())
    {
        return Ok(found.clone());
    }
    Err(unresolved(candidates.join(", ")))
}

struct RewrittenModule {
    hoisted_imports: String,
    body: String,
    /// Exported name → expression that reads it.
    exports: BTreeMap<String, String>,
    /// Modules whose exports are re-exported with `export *`.
    stars: Vec<usize>,
    /// A CommonJS module (no `import` or `export`, and it assigns
    /// `exports.NAME` or `module.exports` at its top level): the names it
    /// assigns there.
    commonjs: Option<Vec<String>>,
}

fn rewrite(
    module: &TranspiledModule,
    resolved: &HashMap<String, String>,
    var_of: &HashMap<String, usize>,
) -> Result<RewrittenModule, CompileError> {
    let js = module.js.as_str();
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, js, SourceType::mjs()).parse();
    if let Some(first) = parsed.diagnostics.errors().next() {
        // The transform produced JavaScript its own parser rejects: a compiler bug.
        return Err(CompileError::Internal(format!(
            "{}: generated JavaScript does not parse: {}",
            module.path, first.message
        )));
    }
    let target = |specifier: &str| -> Result<String, CompileError> {
        resolved
            .get(specifier)
            .and_then(|path| var_of.get(path))
            .map(|index| module_var(*index))
            .ok_or_else(|| {
                CompileError::Internal(format!(
                    "{}: import {specifier:?} was not resolved",
                    module.path
                ))
            })
    };

    // (start, end, replacement), applied back to front.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut hoisted_imports = String::new();
    let mut exports = BTreeMap::new();
    let mut stars = Vec::new();
    let default_var = "__actions$default";
    let mut esm = false;
    let mut assigned: Option<Vec<String>> = None;

    for statement in &parsed.program.body {
        if statement.is_module_declaration() {
            esm = true;
        }
        if let Statement::ExpressionStatement(expression) = statement
            && let Expression::AssignmentExpression(assignment) = &expression.expression
            && let Some(names) = commonjs_assignment(assignment)
        {
            assigned.get_or_insert_with(Vec::new).extend(names);
        }
        let span = statement.span();
        let (start, end) = (span.start as usize, span.end as usize);
        match statement {
            Statement::ImportDeclaration(import) => {
                let from = target(&import.source.value)?;
                for specifier in import.specifiers.iter().flatten() {
                    let line = match specifier {
                        ImportDeclarationSpecifier::ImportSpecifier(s) => format!(
                            "const {} = {from}[{}];\n",
                            s.local.name,
                            js_string(&s.imported.name())
                        ),
                        ImportDeclarationSpecifier::ImportDefaultSpecifier(s) => {
                            format!("const {} = {from}[\"default\"];\n", s.local.name)
                        }
                        ImportDeclarationSpecifier::ImportNamespaceSpecifier(s) => {
                            format!("const {} = {from};\n", s.local.name)
                        }
                    };
                    hoisted_imports.push_str(&line);
                }
                edits.push((start, end, String::new()));
            }
            Statement::ExportDeclaration(export) => {
                let declaration = &export.declaration;
                for name in declared_names(declaration) {
                    exports.insert(name.clone(), name);
                }
                edits.push((start, declaration.span().start as usize, String::new()));
            }
            Statement::ExportNamedDeclaration(export) => {
                for specifier in &export.specifiers {
                    exports.insert(
                        specifier.exported.name().to_string(),
                        local_name(&specifier.local),
                    );
                }
                edits.push((start, end, String::new()));
            }
            Statement::ExportFromDeclaration(export) => {
                let from = target(&export.source.value)?;
                for specifier in &export.specifiers {
                    exports.insert(
                        specifier.exported.name().to_string(),
                        format!("{from}[{}]", js_string(&specifier.local.name())),
                    );
                }
                edits.push((start, end, String::new()));
            }
            Statement::ExportAllDeclaration(export) => {
                let from = target(&export.source.value)?;
                match &export.exported {
                    Some(name) => {
                        exports.insert(name.name().to_string(), from);
                    }
                    None => {
                        if let Some(index) = resolved
                            .get(export.source.value.as_str())
                            .and_then(|p| var_of.get(p))
                        {
                            stars.push(*index);
                        }
                    }
                }
                edits.push((start, end, String::new()));
            }
            Statement::ExportDefaultDeclaration(export) => {
                let declaration_start = export.declaration.span().start as usize;
                let named = match &export.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => {
                        f.id.as_ref().map(|id| id.name.to_string())
                    }
                    ExportDefaultDeclarationKind::ClassDeclaration(c) => {
                        c.id.as_ref().map(|id| id.name.to_string())
                    }
                    _ => None,
                };
                match named {
                    Some(name) => {
                        exports.insert("default".into(), name);
                        edits.push((start, declaration_start, String::new()));
                    }
                    None => {
                        exports.insert("default".into(), default_var.into());
                        edits.push((start, declaration_start, format!("const {default_var} = ")));
                        edits.push((end, end, ";".into()));
                    }
                }
            }
            _ => {}
        }
    }

    let mut body = js.to_owned();
    edits.sort_by_key(|(start, end, _)| std::cmp::Reverse((*start, *end)));
    for (start, end, replacement) in edits {
        body.replace_range(start..end, &replacement);
    }
    Ok(RewrittenModule {
        hoisted_imports,
        body,
        exports,
        stars,
        commonjs: assigned.filter(|_| !esm),
    })
}

/// The names a top-level CommonJS assignment exports: `exports.NAME = …`,
/// `module.exports.NAME = …`, or the keys of `module.exports = { … }`
/// (none for any other value); `None` when it assigns no export.
fn commonjs_assignment(assignment: &AssignmentExpression<'_>) -> Option<Vec<String>> {
    let is_module_exports = |expression: &Expression<'_>| {
        matches!(expression, Expression::StaticMemberExpression(m)
            if m.property.name == "exports"
                && matches!(&m.object, Expression::Identifier(id) if id.name == "module"))
    };
    let AssignmentTarget::StaticMemberExpression(target) = &assignment.left else {
        return None;
    };
    let on_exports = matches!(&target.object, Expression::Identifier(id) if id.name == "exports");
    if on_exports || is_module_exports(&target.object) {
        return Some(vec![target.property.name.to_string()]);
    }
    let whole = target.property.name == "exports"
        && matches!(&target.object, Expression::Identifier(id) if id.name == "module");
    if !whole {
        return None;
    }
    let Expression::ObjectExpression(object) = &assignment.right else {
        return Some(Vec::new());
    };
    Some(
        object
            .properties
            .iter()
            .filter_map(|property| match property {
                ObjectPropertyKind::ObjectProperty(p) => p.key.static_name().map(|n| n.to_string()),
                ObjectPropertyKind::SpreadProperty(_) => None,
            })
            .collect(),
    )
}

fn local_name(name: &ModuleExportName<'_>) -> String {
    name.name().to_string()
}

fn declared_names(declaration: &Declaration<'_>) -> Vec<String> {
    match declaration {
        Declaration::VariableDeclaration(variables) => variables
            .declarations
            .iter()
            .flat_map(|d| d.id.get_binding_identifiers())
            .map(|id| id.name.to_string())
            .collect(),
        other => other
            .id()
            .map(|id| id.name.to_string())
            .into_iter()
            .collect(),
    }
}

fn exports_execute(index: usize, modules: &[(usize, RewrittenModule)]) -> bool {
    let module = &modules[index].1;
    module.exports.contains_key("execute")
        || module.stars.iter().any(|s| exports_execute(*s, modules))
        || module
            .commonjs
            .as_ref()
            .is_some_and(|names| names.iter().any(|n| n == "execute"))
}

/// A JavaScript string literal holding `value`.
fn js_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(files: &[(&str, &str)], entry: &str) -> SourcePackage {
        let files = files
            .iter()
            .map(|(p, s)| ((*p).to_owned(), s.as_bytes().to_vec()))
            .collect();
        SourcePackage::new(files, entry).expect("valid package")
    }

    #[test]
    fn dependencies_come_first_and_imports_are_hoisted() {
        let js = bundle(&package(
            &[
                ("src/index.ts", "export function execute() { return helper(); }\nimport { helper } from './lib/util';\n"),
                ("src/lib/util.ts", "export const helper = (): number => 1;\n"),
            ],
            "src/index.ts",
        ))
        .expect("bundles")
        .javascript;
        let util = js.find("// src/lib/util.ts").expect("util is bundled");
        let index = js.find("// src/index.ts").expect("index is bundled");
        assert!(util < index, "{js}");
        assert!(
            js.contains("const helper = __actions$m0[\"helper\"];"),
            "{js}"
        );
        assert!(!js.contains("import "), "{js}");
    }

    #[test]
    fn bare_imports_are_refused_where_they_are() {
        let err = bundle(&package(
            &[(
                "index.ts",
                "import _ from 'lodash';\nexport function execute() { return _; }\n",
            )],
            "index.ts",
        ))
        .expect_err("refused");
        assert!(
            matches!(err, CompileError::NonRelativeImport { ref at, ref specifier } if at.line == 1 && at.column == 15 && specifier == "lodash")
        );
    }

    #[test]
    fn cycles_are_refused() {
        let err = bundle(&package(
            &[
                ("a.ts", "import './b';\nexport function execute() {}\n"),
                ("b.ts", "import './a';\n"),
            ],
            "a.ts",
        ))
        .expect_err("refused");
        assert!(
            matches!(err, CompileError::CircularImport { ref cycle, .. } if cycle == "a.ts -> b.ts -> a.ts")
        );
    }

    #[test]
    fn execute_may_come_through_a_re_export() {
        let files = [
            ("index.ts", "export * from './impl';\n"),
            ("impl.ts", "export async function execute() {}\n"),
        ];
        assert!(bundle(&package(&files, "index.ts")).is_ok());
        let err = bundle(&package(
            &[("index.ts", "export const run = 1;\n")],
            "index.ts",
        ))
        .expect_err("refused");
        assert!(matches!(err, CompileError::MissingExecute { .. }));
    }

    #[test]
    fn commonjs_entries_offer_the_auth0_handlers_they_assign() {
        let entry =
            |source: &str| bundle(&package(&[("index.js", source)], "index.js")).map(|b| b.entry);
        assert_eq!(
            entry("exports.onExecutePostLogin = async (event, api) => {};\n").expect("bundles"),
            EntryPoint::Handlers(vec!["login.post-login"])
        );
        assert_eq!(
            entry(
                "const pre = async () => {};\nmodule.exports = { onExecutePreUserRegistration: pre, onExecutePostLogin() {} };\n"
            )
            .expect("bundles"),
            EntryPoint::Handlers(vec!["login.post-login", "registration.pre-create"])
        );
        assert_eq!(
            entry("module.exports.onExecutePostUserRegistration = () => {};\n").expect("bundles"),
            EntryPoint::Handlers(vec!["registration.post-create"])
        );
        assert_eq!(
            entry("exports.execute = () => {};\n").expect("bundles"),
            EntryPoint::Execute
        );
        for refused in [
            "exports.onExecuteSomethingElse = () => {};\n",
            "module.exports = makeHandlers();\n",
            // An ES module's assignment to a global named `exports` is no export.
            "export const x = 1;\nexports.onExecutePostLogin = () => {};\n",
        ] {
            assert!(
                matches!(entry(refused), Err(CompileError::MissingExecute { .. })),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_commonjs_entry_runs_the_handler_of_the_runs_trigger() {
        let js = bundle(&package(
            &[("index.js", "exports.onExecutePostLogin = async () => {};\n")],
            "index.js",
        ))
        .expect("bundles")
        .javascript;
        assert!(js.contains("const module = { exports: {} };"), "{js}");
        assert!(
            js.contains("\"login.post-login\": \"onExecutePostLogin\""),
            "{js}"
        );
        assert!(
            js.contains("return __actions$handlers(__actions$m0);"),
            "{js}"
        );
    }
}
