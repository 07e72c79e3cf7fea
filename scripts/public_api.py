#!/usr/bin/env python3
"""Checks that the library's public API is the one committed in docs/public-api.txt.

Usage: public_api.py [--bless]

Reads the item list rustdoc writes (`target/doc/satchel_session/all.html`, made by
`cargo doc -p satchel-session --no-deps --all-features`, which CI runs just before): every public struct,
enum, trait, function, type alias and constant, each once, at its documented path. Prints what
was added or removed against the committed list and exits 1 when they differ; with --bless,
writes the current list instead. A change to the public API is then a deliberate one: commit
the new list with the change, and name it in CHANGELOG.md.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "public-api.txt"
KINDS = {"struct": "struct", "enum": "enum", "trait": "trait", "fn": "fn", "type": "type",
         "constant": "const", "macro": "macro", "static": "static", "union": "union"}


def current() -> list[str]:
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    page = target / "doc" / "satchel_session" / "all.html"
    if not page.is_file():
        sys.exit(f"{page} is missing: run `cargo doc -p satchel-session --no-deps --all-features` first")
    items = []
    for href, name in re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', page.read_text()):
        kind = KINDS.get(Path(href).name.split(".", 1)[0])
        if kind is None:
            sys.exit(f"unknown item kind in {href}")
        items.append(f"{kind} satchel_session::{name}")
    return sorted(items)


def main() -> int:
    items = current()
    header = (
        "# The library's public items (scripts/public_api.py; rustdoc's all.html, every feature).\n"
        f"# {len(items)} items. Regenerate with `python3 scripts/public_api.py --bless`.\n"
    )
    if sys.argv[1:] == ["--bless"]:
        COMMITTED.write_text(header + "\n".join(items) + "\n")
        print(f"wrote {COMMITTED.relative_to(ROOT)}: {len(items)} items")
        return 0
    committed = [l for l in COMMITTED.read_text().splitlines() if l and not l.startswith("#")]
    added = sorted(set(items) - set(committed))
    removed = sorted(set(committed) - set(items))
    if not added and not removed:
        print(f"public API unchanged: {len(items)} items")
        return 0
    for line in added:
        print(f"+ {line}")
    for line in removed:
        print(f"- {line}")
    print(
        "the public API differs from docs/public-api.txt: if that is meant, run "
        "`python3 scripts/public_api.py --bless`, commit the list and say so in CHANGELOG.md",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
