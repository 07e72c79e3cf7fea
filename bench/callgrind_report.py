#!/usr/bin/env python3
"""The instruction table of bench/callgrind.sh, against issue 13's targets.

    bench/callgrind_report.py results/callgrind.json > results/callgrind.md
"""
import json
import sys

# label -> (what, target for the session part (row - lib /plain), or None)
ROWS = {
    "lib-sealed-counter": ("library, sealed cookie, `/counter`", 15_000),
    "lib-flask-counter": ("library, flask cookie, `/counter`", 40_000),
    "lib-memory-counter": ("library, memory store, `/counter`", 14_000),
    "tower-memory-counter": ("tower-sessions MemoryStore, `/counter`", None),
    "serve-sealed-counter": ("`satchel serve`, sealed cookie, `/counter`", None),
    "serve-healthz": ("`satchel serve`, `/healthz` (no session)", None),
}


def main(path):
    rows = {}
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            rows[row["label"]] = row["instructions_per_request"]
    plain = rows.get("lib-plain")
    print("| route | instructions / request | session part (− library `/plain`) | target |")
    print("|---|---|---|---|")
    if plain is not None:
        print(f"| library `/plain` (outside the layer) | {plain:,} | – | – |")
    for label, (what, target) in ROWS.items():
        if label not in rows:
            print(f"| {what} | not measured | – | – |")
            continue
        total = rows[label]
        part = f"{total - plain:,}" if plain is not None and label.startswith(("lib", "tower")) else "–"
        goal = "–"
        if target is not None and plain is not None:
            met = total - plain <= target
            goal = f"≤ {target:,}: {'met' if met else 'not met'}"
        print(f"| {what} | {total:,} | {part} | {goal} |")
    if "serve-sealed-counter" in rows and "lib-sealed-counter" in rows:
        extra = rows["serve-sealed-counter"] - rows["lib-sealed-counter"]
        print()
        print(f"`satchel serve`'s own middleware on `/counter` (serve − library, sealed): "
              f"{extra:,} instructions (target ≤ 6,000: {'met' if extra <= 6000 else 'not met'}).")


if __name__ == "__main__":
    main(sys.argv[1])
