#!/usr/bin/env python3
"""Fails when the top-level modules of a crate import each other in a cycle.

A crate's rooms (the files and folders under src/) should form layers: a
module may use another only if that one does not use it back, directly or
through others. Each file is mapped to its top-level module (src/a/b.rs ->
a); a mention of `crate::x` is an edge to x (x a module) or to the crate
root (x an item the root defines). The root's own `use`s are edges from the
root. A binary-only crate's root is its main.rs; binaries beside a library
(main.rs, src/bin/*) are leaves: no module can import them.

Usage: scripts/check-module-cycles.py [crate-dir ...] (default: every
crate of the repository with a src/lib.rs or src/main.rs).
"""

import pathlib
import re
import sys

MENTION = re.compile(r"\bcrate::([a-z_][a-z0-9_]*|[A-Z][A-Za-z0-9_]*)")
USE_GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}", re.S)
COMMENT = re.compile(r"//[^\n]*")
REEXPORT = re.compile(r"\bpub\s+use\s+([a-z_][a-z0-9_]*)::(?:\{([^}]*)\}|([A-Za-z0-9_:]+))\s*;")
ROOT_USE = re.compile(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?use\s+([a-z_][a-z0-9_]*)::", re.M)


def top_module(src: pathlib.Path, file: pathlib.Path, root: pathlib.Path) -> str:
    if file == root:
        return "<root>"
    rel = file.relative_to(src)
    name = rel.parts[0]
    return name[:-3] if name.endswith(".rs") else name


def mentions(text: str):
    text = COMMENT.sub("", text)
    for match in MENTION.finditer(text):
        yield match.group(1)
    for group in USE_GROUP.finditer(text):
        for item in re.split(r"[,\s]+", group.group(1)):
            head = item.split("::")[0].strip("{} ")
            if head:
                yield head


def check(crate: pathlib.Path) -> list[str]:
    src = crate / "src"
    # A library's root is lib.rs; a binary-only crate's is main.rs.
    lib = src / "lib.rs" if (src / "lib.rs").is_file() else src / "main.rs"
    if not lib.is_file():
        return []

    def skipped(f: pathlib.Path) -> bool:
        rel = f.relative_to(src)
        # Binaries beside a library are leaves: nothing imports them.
        return f != lib and (rel.parts == ("main.rs",) or "bin" in rel.parts)

    files = [f for f in src.rglob("*.rs") if not skipped(f)]
    modules = {top_module(src, f, lib) for f in files if f != lib}
    # `crate::Name` where the root re-exports `m::Name` is a use of m: the
    # re-export is an alias, not something the root defines.
    aliases: dict[str, str] = {}
    for match in REEXPORT.finditer(COMMENT.sub("", lib.read_text())):
        module, items = match.group(1), match.group(2) or match.group(3)
        if module in modules:
            for item in re.split(r"[,\s]+", items.strip("{} ")):
                name = item.split(" as ")[-1].split("::")[-1].strip("{} ")
                if name:
                    aliases[name] = module
    edges: dict[str, set[str]] = {}
    for file in files:
        here = top_module(src, file, lib)
        text = file.read_text()
        found = list(mentions(text))
        if here == "<root>":
            # The root names its modules without `crate::`.
            found += ROOT_USE.findall(COMMENT.sub("", text))
        for name in found:
            there = name if name in modules else aliases.get(name, "<root>")
            if there != here:
                edges.setdefault(here, set()).add(there)
    # Depth-first search for a cycle.
    problems = []
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                problems.append(f"{crate}: {' -> '.join(cycle)}")
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return problems


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    crates = [pathlib.Path(a) for a in sys.argv[1:]] or sorted(
        p.parent for p in root.glob("**/Cargo.toml")
        if "target" not in p.parts
        and ((p.parent / "src" / "lib.rs").is_file() or (p.parent / "src" / "main.rs").is_file())
    )
    problems = [p for crate in crates for p in check(crate)]
    for problem in problems:
        print(f"import cycle: {problem}", file=sys.stderr)
    if problems:
        print("error: modules import each other in a cycle; give each room one direction", file=sys.stderr)
        return 1
    print(f"no import cycles in {len(crates)} crates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
