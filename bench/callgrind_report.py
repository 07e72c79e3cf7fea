#!/usr/bin/env python3
"""The instruction table of bench/callgrind.sh, against issue 13's targets.

    bench/callgrind_report.py results/callgrind.json > results/callgrind.md

The floor rows are `/counter` done by hand without the session layer (bench/peers/satchel-axum
src/floor.rs): the row minus its floor is the layer's own share. Every peer's `/counter` row is
also taken against its own no-session route (`/plain` of the same server): the session part.
"""
import json
import sys

# The no-session route (`/plain`, outside the session layer or middleware) of each server.
PLAINS = {
    "lib-plain": "library (axum) `/plain` (outside the layer)",
    "actix-plain": "satchel on actix-web, `/plain` (outside the middleware)",
    "actix-session-plain": "actix-session peer (actix-web), `/plain` (outside the middleware)",
    "axum-session-plain": "axum_session peer (axum), `/plain` (outside the layer)",
}
# label -> (what, target for the session part (row - its plain) or None, its floor's label,
#           its plain's label or None)
ROWS = {
    "lib-sealed-counter": ("library, sealed cookie, `/counter`", 15_000, "floor-sealed-counter", "lib-plain"),
    "lib-flask-counter": ("library, flask cookie, `/counter`", 40_000, None, "lib-plain"),
    "lib-memory-counter": ("library, memory store, `/counter`", 14_000, "floor-memory-counter", "lib-plain"),
    "lib-redis-counter": ("library, Redis store, `/counter`", None, None, "lib-plain"),
    "lib-sealed-dict-counter": ("library, sealed cookie, `/dict/counter` (`Session`)", None, None, "lib-plain"),
    "lib-sealed-typed-counter": ("library, sealed cookie, `/typed/counter` (`TypedSession`)", None, None, "lib-plain"),
    "lib-memory-dict-counter": ("library, memory store, `/dict/counter` (`Session`)", None, None, "lib-plain"),
    "lib-memory-typed-counter": ("library, memory store, `/typed/counter` (`TypedSession`)", None, None, "lib-plain"),
    "floor-sealed-counter": ("floor: sealed `/counter` by hand, no layer", None, None, "lib-plain"),
    "floor-memory-counter": ("floor: memory store `/counter` by hand, no layer", None, None, "lib-plain"),
    "tower-memory-counter": ("tower-sessions MemoryStore, `/counter`", None, None, "lib-plain"),
    "tower-redis-counter": ("tower-sessions Redis store, `/counter`", None, None, "lib-plain"),
    "serve-sealed-counter": ("`satchel serve`, sealed cookie, `/counter`", None, None, None),
    "serve-healthz": ("`satchel serve`, `/healthz` (no session)", None, None, None),
    "actix-sealed-counter": ("satchel on actix-web, sealed cookie, `/counter`", None, None, "actix-plain"),
    "actix-memory-counter": ("satchel on actix-web, memory store, `/counter`", None, None, "actix-plain"),
    "actix-redis-counter": ("satchel on actix-web, Redis store, `/counter`", None, None, "actix-plain"),
    "actix-session-cookie-counter": ("actix-session CookieSessionStore, `/counter`", None, None,
                                     "actix-session-plain"),
    "actix-session-redis-counter": ("actix-session RedisSessionStore, `/counter`", None, None,
                                    "actix-session-plain"),
    "axum-session-redis-counter": ("axum_session, Redis pool store, `/counter`", None, None,
                                   "axum-session-plain"),
    "axum-session-postgres-counter": ("axum_session, PostgreSQL (sqlx) store, `/counter`", None, None,
                                      "axum-session-plain"),
}
# The layer's own share of the sealed row (row - its floor) has a target of its own.
LAYER_SHARE_TARGET = {"lib-sealed-counter": 4_500}


def main(path):
    rows = {}
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            rows[row["label"]] = row["instructions_per_request"]
    print("| route | instructions / request | session part (− its server's `/plain`) "
          "| layer's own share (− its floor) | target |")
    print("|---|---|---|---|---|")
    for label, what in PLAINS.items():
        if label in rows:
            print(f"| {what} | {rows[label]:,} | – | – | – |")
    for label, (what, target, floor, plain) in ROWS.items():
        if label not in rows:
            print(f"| {what} | not measured | – | – | – |")
            continue
        session = rows[label] - rows[plain] if plain in rows else None
        share = rows[label] - rows[floor] if floor in rows else None
        goals = []
        if target is not None and session is not None:
            goals.append(f"≤ {target:,}: {'met' if session <= target else 'not met'}")
        if label in LAYER_SHARE_TARGET and share is not None:
            limit = LAYER_SHARE_TARGET[label]
            goals.append(f"layer ≤ {limit:,}: {'met' if share <= limit else 'not met'}")
        print(f"| {what} | {rows[label]:,} | {f'{session:,}' if session is not None else '–'} "
              f"| {f'{share:,}' if share is not None else '–'} | {'; '.join(goals) or '–'} |")
    typed = [(kind, rows[f"lib-{kind}-typed-counter"] - rows[f"lib-{kind}-dict-counter"])
             for kind in ("sealed", "memory")
             if f"lib-{kind}-typed-counter" in rows and f"lib-{kind}-dict-counter" in rows]
    if typed:
        print()
        print("`TypedSession` over the dict `Session` (`/typed/counter` − `/dict/counter`): "
              + ", ".join(f"{kind} {extra:+,}" for kind, extra in typed) + " instructions.")
    if "serve-sealed-counter" in rows and "lib-sealed-counter" in rows:
        extra = rows["serve-sealed-counter"] - rows["lib-sealed-counter"]
        print()
        print(f"`satchel serve`'s own middleware on `/counter` (serve − library, sealed): "
              f"{extra:,} instructions (target ≤ 6,000: {'met' if extra <= 6000 else 'not met'}).")


if __name__ == "__main__":
    main(sys.argv[1])
