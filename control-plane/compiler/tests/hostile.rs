//! Sources built to crash, hang or exhaust the compiler: deep nesting of
//! every shape the parser recurses on, up to and past the bounds, in files
//! up to the size cap. Each compiles or is refused with an error; none may
//! take the process down (a stack overflow would abort this test binary).

use actions_compiler::{
    CompileError, Compiler, MAX_FILE_BYTES, MAX_OPEN_BRACKETS, MAX_SEGMENT_DEPTH, SourcePackage,
};
use actions_test_support::cache_dir;
use std::sync::LazyLock;
use std::time::Instant;

static COMPILER: LazyLock<Compiler> =
    LazyLock::new(|| Compiler::new(Some(&cache_dir!())).expect("compiler starts"));

/// The Action around a hostile expression or statement.
fn action(body: &str) -> String {
    format!("export async function execute(event, api) {{\n{body}\n}}\n")
}

fn compile(name: &str, source: &str) -> Result<(), CompileError> {
    assert!(source.len() <= MAX_FILE_BYTES, "{name}: over the file cap");
    let package = SourcePackage::single("index.ts", source).expect("a package");
    let started = Instant::now();
    let result = COMPILER.compile(&package).map(|_| ());
    eprintln!(
        "{name}: {} bytes, {:?}, {}",
        source.len(),
        started.elapsed(),
        match &result {
            Ok(()) => "compiled".to_owned(),
            Err(error) => format!("refused: {error}"),
        }
    );
    result
}

fn assert_too_deep(name: &str, source: &str) {
    match compile(name, source) {
        Err(CompileError::TooDeep { at, .. }) => assert_eq!(at.file, "index.ts", "{name}"),
        other => panic!("{name}: expected a nesting refusal, got {other:?}"),
    }
}

/// Just inside the bounds: the native stages must get through (or give a
/// clean error, as QuickJS may for its own limits), never overflow.
#[test]
fn the_deepest_sources_allowed_never_crash_the_compiler() {
    let just_under = MAX_SEGMENT_DEPTH - 100;
    let shapes: Vec<(&str, String)> = vec![
        (
            "brackets",
            action(&format!(
                "return {}1{};",
                "(".repeat(MAX_OPEN_BRACKETS - 2),
                ")".repeat(MAX_OPEN_BRACKETS - 2)
            )),
        ),
        (
            "arrays",
            action(&format!(
                "return {}1{};",
                "[".repeat(MAX_OPEN_BRACKETS - 2),
                "]".repeat(MAX_OPEN_BRACKETS - 2)
            )),
        ),
        (
            "objects",
            action(&format!(
                "return {}1{};",
                "{a:".repeat(MAX_OPEN_BRACKETS - 2),
                "}".repeat(MAX_OPEN_BRACKETS - 2)
            )),
        ),
        (
            "functions",
            format!(
                "export async function execute(event, api) {{}}\n{}{}",
                "function f(){".repeat(MAX_OPEN_BRACKETS / 2 - 2),
                "}".repeat(MAX_OPEN_BRACKETS / 2 - 2)
            ),
        ),
        (
            "templates",
            action(&format!(
                "return {}1{};",
                "`${".repeat(MAX_OPEN_BRACKETS - 2),
                "}`".repeat(MAX_OPEN_BRACKETS - 2)
            )),
        ),
        (
            "negations",
            action(&format!("return {}1;", "!".repeat(just_under))),
        ),
        (
            "sums",
            action(&format!("return {}1;", "1+".repeat(just_under / 2))),
        ),
        (
            "conditionals",
            action(&format!("return {}c;", "a?b:".repeat(just_under / 4))),
        ),
        (
            "assignments",
            action(&format!("let a; a{}1;", "=a".repeat(just_under / 3))),
        ),
        (
            "arrows",
            action(&format!("return {}1;", "a=>".repeat(just_under / 3))),
        ),
        (
            "ifs",
            action(&format!("{}return;", "if(a)".repeat(just_under / 2))),
        ),
        (
            "news",
            action(&format!("return {}Object;", "new ".repeat(just_under))),
        ),
        (
            "awaits",
            action(&format!("return {}1;", "await ".repeat(just_under))),
        ),
        (
            "types",
            format!(
                "let x: {}number{} = undefined as any;\n{}",
                "Array<".repeat(just_under / 3),
                ">".repeat(just_under / 3),
                action("")
            ),
        ),
        (
            "labels",
            action(&format!("{}break l0;", "l0:".repeat(just_under / 2))),
        ),
    ];
    for (name, source) in shapes {
        match compile(name, &source) {
            Ok(()) | Err(CompileError::Syntax { .. }) => {}
            // QuickJS, in its sandbox, may run out of its own stack first:
            // said in a sentence, not a backtrace.
            Err(CompileError::Bytecode { message }) => {
                assert!(message.len() < 300, "{name}: {message}");
            }
            Err(other) => panic!("{name}: {other}"),
        }
    }
}

/// The attack as reported: 200 KB of nested brackets, refused at the place
/// the bound is crossed, and the same compiler compiles the next source.
#[test]
fn nesting_past_the_bounds_is_refused_where_it_crosses_them() {
    assert_too_deep("200 KB of brackets", &"[".repeat(200_000));
    assert_too_deep("200 KB of parentheses", &action(&"(".repeat(200_000)));
    assert_too_deep(
        "a megabyte of negations",
        &action(&format!("return {}1;", "!".repeat(MAX_FILE_BYTES - 100))),
    );
    assert_too_deep(
        "one long sum",
        &action(&format!("return {}1;", "1+".repeat(MAX_SEGMENT_DEPTH))),
    );
    // Each level's tokens are few; their sum down the tree is not.
    let tail = format!("){}", "+1".repeat(65));
    assert_too_deep(
        "nested sums",
        &action(&format!("return {}1{};", "(".repeat(400), tail.repeat(400))),
    );
    let fine = action("return 1;");
    compile("afterwards", &fine).expect("the compiler still works");
}

#[test]
fn sources_past_the_size_cap_are_refused_before_compiling() {
    let source = format!("// {}\n{}", "x".repeat(MAX_FILE_BYTES), action(""));
    assert!(matches!(
        SourcePackage::single("index.ts", source),
        Err(CompileError::TooLarge { .. })
    ));
}
