//! Embeds the starters (`examples/starters/*`) and the TypeScript
//! declarations in the binary, for `action init`: the CLI works wherever it
//! is installed, and its starters are the ones the tests run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read the starters")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "dist") {
                files(&path, root, out);
            }
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((relative, path));
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let starters = manifest
        .join("../examples/starters")
        .canonicalize()
        .expect("examples/starters");
    let types = manifest
        .join("../javy-shims/types/actions.d.ts")
        .canonicalize()
        .expect("actions.d.ts");
    println!("cargo:rerun-if-changed={}", starters.display());
    println!("cargo:rerun-if-changed={}", types.display());
    let mut code = String::from(
        "/// Every starter: its name and its files (path, bytes).\npub(crate) static STARTERS: &[Starter] = &[\n",
    );
    let mut names: Vec<PathBuf> = std::fs::read_dir(&starters)
        .expect("read the starters")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    for dir in names {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let mut found = Vec::new();
        files(&dir, &dir, &mut found);
        for (_, path) in &found {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        write!(code, "    ({name:?}, &[").expect("write");
        for (relative, path) in found {
            write!(
                code,
                "({relative:?}, include_bytes!({:?})), ",
                path.display().to_string()
            )
            .expect("write");
        }
        code.push_str("]),\n");
    }
    code.push_str("];\n");
    writeln!(code, "/// The declarations of `event` and `api`.\npub(crate) static ACTIONS_D_TS: &str = include_str!({:?});", types.display().to_string()).expect("write");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("starters.rs");
    std::fs::write(out, code).expect("write starters.rs");
}
