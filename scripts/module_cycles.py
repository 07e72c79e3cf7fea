#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a loop.

Usage: module_cycles.py SRC_DIR [SRC_DIR ...]   (each the `src/` of one crate)

A module is a file (`a.rs`, `a/mod.rs`, `a/b.rs`). Module A depends on module B when A's code
names a path into B: `use crate::b::X`, `crate::b::f()`, `super::X`, `self::child::Y`. A name
that B only re-exports (`pub use c::X` in B) is followed to the module that defines it, so a
facade (`lib.rs`, a `mod.rs`) never hides a dependency nor invents one, and the re-export lines
themselves are not dependencies. `mod x;` declarations are not dependencies either. Code under
`#[cfg(test)]` is left out: tests may reach anywhere.

Prints every cycle found (as a chain of files) and exits 1; prints a one-line summary and exits
0 when the imports run one way.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_RE = re.compile(r"^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.S | re.M)


def strip_comments_and_strings(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        # String literals first (a `//` inside one is not a comment), then line comments.
        line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
        line = line.split("//", 1)[0]
        out.append(line)
    return "\n".join(out)


def drop_test_code(text: str) -> str:
    """Removes items behind `#[cfg(test)]` (a brace-balanced item, or one `;`-ended line)."""
    result, i = [], 0
    marker = re.compile(r"#\[cfg\(test\)\]")
    while True:
        m = marker.search(text, i)
        if not m:
            result.append(text[i:])
            break
        result.append(text[i : m.start()])
        j = m.end()
        # Skip to the end of the item: first `;` at depth 0, or the matching `}`.
        depth, k = 0, j
        while k < len(text):
            c = text[k]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    k += 1
                    break
            elif c == ";" and depth == 0:
                k += 1
                break
            k += 1
        i = k
    return "".join(result)


def module_path(src: Path, file: Path) -> tuple[str, ...]:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return tuple(parts)


def expand_use_tree(tree: str) -> list[str]:
    """`a::{b, c::{d, e as f}, self}` -> ["a::b", "a::c::d", "a::c::e", "a"]."""
    tree = re.sub(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*", "", tree)
    tree = re.sub(r"\s+", "", tree)

    def expand(prefix: str, t: str) -> list[str]:
        brace = t.find("{")
        if brace == -1:
            name = t
            if name == "self":
                return [prefix.rstrip(":")]
            return [prefix + name]
        head, body = t[:brace], t[brace + 1 : t.rfind("}")]
        items, depth, cur = [], 0, ""
        for ch in body:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            items.append(cur)
        out = []
        for item in items:
            if item:
                out.extend(expand(prefix + head, item))
        return out

    return expand("", tree)


class Crate:
    def __init__(self, src: Path):
        self.src = src
        self.files: dict[tuple[str, ...], Path] = {}
        self.code: dict[tuple[str, ...], str] = {}
        for f in sorted(src.rglob("*.rs")):
            mod = module_path(src, f)
            self.files[mod] = f
            self.code[mod] = drop_test_code(strip_comments_and_strings(f.read_text()))
        # Re-exports: module -> {name: absolute path it forwards to}.
        self.reexports: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
        for mod, code in self.code.items():
            table = {}
            for m in USE_RE.finditer(code):
                if not m.group(1):
                    continue
                for path in expand_use_tree(m.group(2)):
                    absolute = self.absolute(mod, path)
                    if absolute:
                        table[absolute[-1]] = absolute
            self.reexports[mod] = table

    def absolute(self, mod: tuple[str, ...], path: str) -> tuple[str, ...] | None:
        parts = [p for p in path.split("::") if p]
        if not parts:
            return None
        head, rest = parts[0], parts[1:]
        if head == "crate":
            return tuple(rest)
        if head == "super":
            base = list(mod)
            while parts and parts[0] == "super":
                base = base[:-1]
                parts = parts[1:]
            return tuple(base + parts)
        if head == "self":
            return tuple(list(mod) + rest)
        # A path relative to the module: a child module of it, if one exists.
        if mod + (head,) in self.files:
            return tuple(list(mod) + parts)
        return None

    def resolve(self, path: tuple[str, ...], seen: int = 0) -> tuple[str, ...] | None:
        """The module that defines what `path` names."""
        for cut in range(len(path), -1, -1):
            mod = path[:cut]
            if mod in self.files:
                rest = path[cut:]
                if rest and seen < 10 and rest[0] in self.reexports.get(mod, {}):
                    target = self.reexports[mod][rest[0]] + rest[1:]
                    if target != path:
                        return self.resolve(target, seen + 1)
                return mod
        return None

    def edges(self) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
        graph: dict[tuple[str, ...], set[tuple[str, ...]]] = {m: set() for m in self.files}
        for mod, code in self.code.items():
            # Re-export lines forward names; they are not dependencies of the facade.
            body = USE_RE.sub(lambda m: "" if m.group(1) else m.group(0), code)
            paths = []
            for m in USE_RE.finditer(body):
                paths.extend(expand_use_tree(m.group(2)))
            body_without_uses = USE_RE.sub("", body)
            paths.extend(m.group(1) + m.group(2) for m in PATH_RE.finditer(body_without_uses))
            for path in paths:
                absolute = self.absolute(mod, path)
                if absolute is None:
                    continue
                target = self.resolve(absolute)
                if target is not None and target != mod:
                    graph[mod].add(target)
        return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    failed = False
    for src in map(Path, argv[1:]):
        crate = Crate(src)
        graph = crate.edges()
        found = cycles(graph)
        n_edges = sum(len(v) for v in graph.values())
        if not found:
            print(f"ok: {src}: {len(graph)} modules, {n_edges} imports, no cycle")
            continue
        failed = True
        for comp in found:
            names = [str(crate.files[m].relative_to(src)) for m in comp]
            print(f"cycle in {src}: " + " <-> ".join(names))
            for m in comp:
                deps = sorted(str(crate.files[d].relative_to(src)) for d in graph[m] if d in comp)
                print(f"    {crate.files[m].relative_to(src)} imports {', '.join(deps)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
