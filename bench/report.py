"""Turns bench/results/{meta,wrk,codec}.json into bench/results/summary.md and chart.svg.

    bench/.venv/bin/python bench/report.py      (bench/run calls it; rerun it to redo the report)
"""

import json
import os
import re
from pathlib import Path
from statistics import median

RESULTS = Path(os.environ.get("RESULTS", Path(__file__).resolve().parent / "results")).resolve()
WORKLOADS = {
    "1": "1 read-modify-write, many sessions",
    "2": "2 read-modify-write, one hot session",
    "3": "3 read only, many sessions",
    "4": "4 no session (ceiling)",
}
CEILING_RATIO_TARGET = 0.75
SCALE_TARGET = 0.10  # workload 5: throughput at the largest level within ±10% of the 1k level's
# satchel against tower-sessions: the full `satchel serve` app, then the library on bare axum
# (the like-for-like comparison: both peers are a minimal axum app with the same routes).
STORE_TARGETS = [("memory", "tower-sessions-memory", 1.3), ("redis", "tower-sessions-redis", 1.5)]


def load(name, default):
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else default


def spread(values):
    return min(values), median(values), max(values)


def k(x):
    return f"{x / 1000:.1f}k" if x >= 1000 else f"{x:.0f}"


def count(n):
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e3 else str(n)


def share(part, whole):
    """A share as a percentage; below 1% with two significant digits (a few lost in 30,000 is
    not 0%)."""
    return f"{part / whole:.0%}" if part >= whole / 100 else f"{100 * part / whole:.2g}%"


def us(ns):
    return f"{ns / 1000:.2f} µs"


def scale_cells(level):
    """One workload 5 level as table cells (see Report.scale_section)."""
    def mib(x):
        return "" if x is None else f"{x / 2**20:.0f} MiB"

    def per(x):
        return "" if x is None else f"{x:.0f} B"

    fill = level.get("fill")
    filled = (f"+{fill['created']:,} in {fill['seconds']:.1f} s ({k(fill['rate'])}/s)" if fill
              else "pool only")
    ratios = level["vs_control"]
    return [f"{level['stored']:,}" + ("" if level["reached"] else " (level not reached)"),
            " / ".join(k(r) for r in level["rps"]) + f" (**{k(median(level['rps']))}**)",
            " / ".join(k(r) for r in level["control_rps"]),
            f"**{median(ratios):.2f}** ({min(ratios):.2f}–{max(ratios):.2f})",
            mib(level["rss_bytes"]), per(level.get("rss_per_session")),
            mib(level.get("redis_used_memory")), per(level.get("redis_per_session")), filled]


class Report:
    def __init__(self):
        self.meta = load("meta.json", {})
        self.rows = load("wrk.json", [])
        self.codec = load("codec.json", {})
        # The systems this run selected (SYSTEMS; a run before `selected` was recorded: all).
        selected = re.compile(self.meta.get("selected", "."))
        self.systems = {name: info for name, info in self.meta.get("systems", {}).items()
                        if selected.search(name)}

    def runs(self, system, workload):
        return [r for r in self.rows if r["system"] == system and r["workload"] == workload]

    def rps(self, system, workload):
        return [r["rps"] for r in self.runs(system, workload)]

    def paired_ratio(self, system, workload, base_system, base_workload):
        """Ratio of two cells repeat by repeat (interleaved, so each pair saw the same drift)."""
        base = {r["repeat"]: r["rps"] for r in self.runs(base_system, base_workload)}
        ratios = [r["rps"] / base[r["repeat"]] for r in self.runs(system, workload) if r["repeat"] in base]
        return spread(ratios) if ratios else None

    def why_missing(self, name, workload):
        info = self.systems.get(name)
        if info is None:
            return "not selected in this run" if name in self.meta.get("systems", {}) else "not in systems.txt"
        if info["status"] != "ready":
            return "not built yet"
        if name in self.meta.get("failed", {}):
            return "failed (see meta.json)"
        if workload not in info.get("workloads", ""):
            return "n/a"
        return "not run"

    # ------------------------------------------------------------ markdown

    def throughput_table(self):
        head = "| system | " + " | ".join(WORKLOADS.values()) + " |"
        lines = [head, "|---" * (len(WORKLOADS) + 1) + "|"]
        for name in self.systems:
            cells = []
            for w in WORKLOADS:
                values = self.rps(name, w)
                if values:
                    lo, mid, hi = spread(values)
                    cells.append(f"{k(lo)} / **{k(mid)}** / {k(hi)}")
                else:
                    cells.append(self.why_missing(name, w))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return lines

    def ceiling_table(self):
        """Each workload against the same server's no-session route (workload 4), repeat by
        repeat, and workload 2's lost updates: the figures that compare across frameworks."""
        lines = ["| system | no-session route | 1 / 4 | 2 / 4 | 3 / 4 | lost updates on 2 (per repeat) |",
                 "|---|---|---|---|---|---|"]
        for name, info in self.systems.items():
            if not self.runs(name, "4"):
                lines.append(f"| {name} | {info['ceiling']} | {self.why_missing(name, '4')} | | | |")
                continue
            cells = []
            for w in "123":
                r = self.paired_ratio(name, w, name, "4")
                cells.append(f"**{r[1]:.2f}** ({r[0]:.2f}–{r[2]:.2f})" if r else self.why_missing(name, w))
            runs = self.runs(name, "2")
            if info["sessions"] == "cookie":
                lost = "n/a (cookie)"
            elif runs:
                lost = ", ".join(share(r["lost_updates"], r["ok"]) if r["lost_updates"] > 0 else "0"
                                 for r in runs)
            else:
                lost = self.why_missing(name, "2")
            lines.append(f"| {name} | {info['ceiling']} | " + " | ".join(cells) + f" | {lost} |")
        return lines

    def hot_table(self):
        lines = ["| system | requests/s (median) | non-2xx (all repeats) | lost updates (per repeat) |",
                 "|---|---|---|---|"]
        for name, info in self.systems.items():
            runs = self.runs(name, "2")
            if not runs:
                lines.append(f"| {name} | {self.why_missing(name, '2')} | | |")
                continue
            non2xx = sum(r["non_2xx"] for r in runs)
            if info["sessions"] == "cookie":
                lost = "n/a: each client holds its own cookie, nothing shared to lose"
            else:
                lost = ", ".join(f"{r['lost_updates']} of {r['ok']} "
                                 + (f"({r['lost_updates'] / r['ok']:.0%})" if r["lost_updates"] > 0 else "(none)")
                                 for r in runs)
            lines.append(f"| {name} | {k(median(r['rps'] for r in runs))} | {non2xx} | {lost} |")
        return lines

    def scale_section(self):
        scale = self.meta.get("scale", {})
        if not scale:
            return ["Not run (WORKLOADS without 5)."]
        levels = self.meta.get("scale_levels", [])
        out = [f"Workload 1 (`/counter`, rotating over a pool of {levels[0] if levels else 1000:,} sessions) "
               "on a fresh *scaled* server whose store holds that many sessions in all (the pool "
               "included), filled between levels by cookie-less `/counter` requests (each one a new "
               "session through the server's own create path). Beside it a fresh *control* server of "
               "the same system (for Redis, on its own Redis) keeps only its pool; each of the "
               f"{self.meta.get('scale_repeats', '?')} runs per level is a control run then a scaled "
               "run, back to back, so *scaled / control* compares the level with the 1k-session store "
               "under the same machine drift (at the 1k level it shows the noise between two identical "
               "servers). RSS is the scaled server's VmRSS after the level's runs; bytes per session "
               "are the growth since the previous level over the sessions added (a hash table grows by "
               "doubling, so a level can catch a resize). For Redis stores, Redis's `used_memory` the "
               "same way (the server's own RSS then stays flat).", ""]
        rows = []
        for name, info in scale.items():
            if not info.get("levels"):
                out.append(f"- {name}: {info['status']} ({info.get('why', '')})")
                continue
            rows += [f"| {name} | " + " | ".join(scale_cells(level)) + " |" for level in info["levels"]]
            if info.get("why"):
                rows.append(f"| {name} | {info['why']} | | | | | | | | |")
        if rows:
            out += ["| system | stored sessions | workload 1 req/s (runs, **median**) | control req/s "
                    "| scaled / control (**median**, min–max) | server RSS | RSS per added session "
                    "| Redis used_memory | Redis per added session | fill |",
                    "|---|---|---|---|---|---|---|---|---|---|", *rows, ""]
            out.append("Time per system (fill + runs + pool): "
                       + ", ".join(f"{n} {i['seconds']:.0f} s (fill {i['fill_seconds']:.0f} s)"
                                   for n, i in scale.items() if "seconds" in i) + ".")
        return out

    def criterion(self):
        return self.codec.get("criterion", {})

    def codec_table(self):
        crit, its = self.criterion(), self.codec.get("itsdangerous", {})
        lines = []
        for label, part in [("cargo bench -p satchel-session --bench codec", crit),
                            ("scripts/bench_itsdangerous.py", its)]:
            if "skipped" in part or not part:
                lines.append(f"- {label}: skipped ({part.get('skipped', 'not run')})")
        if crit and "skipped" not in crit:
            sizes = ("200B", "3KB")
            table = {}
            for name, ns in crit.items():
                family, size, op = name.split("/", 2)
                column = size if size in sizes else sizes[0]
                label = f"{family}/{op}" if size in sizes else f"{family}/{size}/{op}"
                table.setdefault(label, {})[column] = us(ns)
            lines += ["", "| criterion benchmark (median) | " + " | ".join(sizes) + " |", "|---|---|---|"]
            lines += [f"| {label} | " + " | ".join(row.get(c, "") for c in sizes) + " |"
                      for label, row in table.items()]
        if its and "skipped" not in its:
            lines += ["", "| itsdangerous (Flask 3.1's cookie serializer) | dumps | loads | round trip |",
                      "|---|---|---|---|"]
            lines += [f"| {size} | {us(t['dumps_ns'])} | {us(t['loads_ns'])} | {us(t['round_trip_ns'])} |"
                      for size, t in its.items()]
        return lines[1:] if lines[:1] == [""] else lines

    def target_lines(self):
        lines = ["| target | measured (median of per-repeat ratios, min–max) | verdict |", "|---|---|---|"]

        def ratio_row(label, system, w, base, bw, target=None):
            r = self.paired_ratio(system, w, base, bw)
            if r is None:
                return f"| {label} | {self.why_missing(system, w)} | n/a |"
            verdict = "context" if target is None else ("met" if r[1] >= target else "missed")
            return f"| {label} | {r[1]:.3f} ({r[0]:.2f}–{r[2]:.2f}) | {verdict} |"

        for fmt in ("sealed", "flask"):
            lines.append(ratio_row(f"satchel {fmt} cookie, workload 1 ≥ {CEILING_RATIO_TARGET:.0%} of its own /healthz",
                                   f"satchel-{fmt}", "1", f"satchel-{fmt}", "4", CEILING_RATIO_TARGET))
        lines.append(ratio_row("tower-sessions MemoryStore workload 1 / axum /plain (issue: 0.45–0.56)",
                               "tower-sessions-memory", "1", "tower-sessions-memory", "4"))
        lines.append(ratio_row("Flask cookie workload 1 / its /healthz", "flask-cookie", "1", "flask-cookie", "4"))
        for store, peer, target in STORE_TARGETS:
            lines.append(ratio_row(f"satchel serve, {store} store: workload 1 ≥ {target}× {peer}",
                                   f"satchel-{store}", "1", peer, "1", target))
        for store, peer, target in STORE_TARGETS:
            lines.append(ratio_row(f"satchel library on axum, {store} store: workload 1 ≥ {target}× {peer} "
                                   "(library vs library)", f"satchel-lib-{store}", "1", peer, "1", target))
        for fmt in ("sealed", "flask"):
            lines.append(ratio_row(f"satchel library {fmt} cookie workload 1 / its axum /plain",
                                   f"satchel-lib-{fmt}", "1", f"satchel-lib-{fmt}", "4"))
        for store in ("memory", "redis"):
            lines.append(ratio_row(f"satchel serve / satchel library, {store} store, workload 1 (the app's own cost)",
                                   f"satchel-{store}", "1", f"satchel-lib-{store}", "1"))
        lines += [self.lost_row(name) for name, info in self.systems.items()
                  if name.startswith("satchel-") and info["sessions"] == "server"]
        lines += self.codec_target_lines()
        lines += self.scale_target_lines()
        return lines

    def scale_target_lines(self):
        lines = []
        for name, info in self.meta.get("scale", {}).items():
            levels = info.get("levels", [])
            if len(levels) < 2:
                lines.append(f"| workload 5 ({name}): throughput within ±{SCALE_TARGET:.0%} from 1k to the "
                             f"largest size | {info.get('why', 'not measured')} | n/a |")
                continue
            last = levels[-1]
            ratio = median(last["vs_control"])
            verdict = "met" if abs(ratio - 1) <= SCALE_TARGET else "missed"
            lines.append(f"| workload 5 ({name}): throughput at largest level / at 1k = {ratio:.2f} "
                         f"(target within ±{SCALE_TARGET:.0%}) | {ratio:.3f} ({min(last['vs_control']):.2f}–"
                         f"{max(last['vs_control']):.2f}): {k(median(last['rps']))} req/s with "
                         f"{last['stored']:,} stored vs {k(median(last['control_rps']))} on the 1k control, "
                         f"paired runs; same-size noise at 1k: {median(levels[0]['vs_control']):.2f} | {verdict} |")
        return lines

    def lost_row(self, name):
        label = f"{name}: 0 lost updates on workload 2"
        runs = self.runs(name, "2")
        if not runs:
            return f"| {label} | {self.why_missing(name, '2')} | n/a |"
        lost = [r["lost_updates"] for r in runs]
        non2xx = sum(r["non_2xx"] for r in runs)
        return (f"| {label} | lost per repeat: {', '.join(map(str, lost))}; non-2xx: {non2xx} | "
                f"{'met' if max(lost) <= 0 else 'missed'} |")

    def codec_target_lines(self):
        crit, its = self.criterion(), self.codec.get("itsdangerous", {})
        sealed_parts = ["aes256gcmsiv_seal", "aes256gcmsiv_open", "base64_encode", "base64_decode",
                        "json_write", "json_parse"]
        lines = []
        for size in ("200B", "3KB"):
            try:
                trip = crit[f"sealed/{size}/round_trip"]
                parts = sum(crit[f"primitives/{size}/{p}"] for p in sealed_parts)
                ratio = trip / parts
                lines.append(f"| sealed round trip ≤ 2× its primitives ({size}) | {ratio:.2f}× "
                             f"({us(trip)} vs {us(parts)}) | {'met' if ratio <= 2 else 'missed'} |")
            except (KeyError, TypeError):
                lines.append(f"| sealed round trip ≤ 2× its primitives ({size}) | codec bench not run | n/a |")
            # round trip: a request that changed the session (Flask and satchel both encode
            # afresh); refresh: one that did not (Flask still runs loads + dumps, satchel
            # re-signs the payload it verified). Both against itsdangerous's loads + dumps.
            for op, what in [("round_trip", "flask round trip"),
                             ("refresh", "flask refresh of an unchanged session")]:
                target = f"{what} ≥ 10× faster than itsdangerous ({size})"
                try:
                    trip, theirs = crit[f"flask/{size}/{op}"], its[size]["round_trip_ns"]
                    speedup = theirs / trip
                    lines.append(f"| {target} | {speedup:.1f}× ({us(trip)} vs {us(theirs)}) | "
                                 f"{'met' if speedup >= 10 else 'missed'} |")
                except (KeyError, TypeError):
                    lines.append(f"| {target} | not run | n/a |")
        return lines

    def markdown(self):
        m = self.meta
        pin = m.get("pinning")
        setting = (f"wrk -t{m.get('wrk_threads')} -c{m.get('connections')} -d{m.get('duration')}, "
                   f"{m.get('repeats')} interleaved repeats, pool of {m.get('pool')} sessions per system, "
                   + (f"servers on CPU {pin['server_cpus']}, wrk on CPU {pin['wrk_cpus']}" if pin
                      else "no CPU pinning (servers and wrk share both cores)"))
        load_before = ", ".join(f"{x:.1f}" for x in m.get("loadavg_before", []))
        load_after = ", ".join(f"{x:.1f}" for x in m.get("loadavg_after", []))
        out = ["# Benchmark results", "",
               f"Run {m.get('started')} – {m.get('finished')} on {m.get('cpus')} CPUs; {setting}. "
               f"Load average before: {load_before}; after: {load_after}. Everything on 127.0.0.1.", "",
               "## Throughput (requests/s: min / **median** / max)", "", *self.throughput_table(), "",
               "The `satchel-*` rows are the whole `satchel serve` app (metrics, request log, security "
               "headers, CSRF, templates); the `satchel-lib-*` rows are the satchel library alone in a "
               "minimal axum app with the tower-sessions peer's routes (`bench/peers/satchel-axum`), so "
               "satchel-lib against tower-sessions is library against library.", "",
               "Workload 4 is each server's own no-session route: `/healthz` for `satchel serve` and Flask, "
               "`/plain` (a handler outside the session layer, i.e. plain axum or plain actix-web) for the "
               "Rust peers.", "",
               "## Against each server's own no-session route", "",
               "Requests/s of workloads 1–3 over the same server's workload 4, taken repeat by repeat "
               "(median, min–max): what sessions cost on that framework, comparable across frameworks "
               "whose ceilings differ. Lost updates as a share of workload 2's successful responses "
               "(0: none, or a few below zero).", "", *self.ceiling_table(), "",
               "## Workload 2: one hot session, 32 connections", "",
               "Lost updates = successful responses − increments the counter shows once in-flight requests "
               "have drained (a few below zero, at most the connection count, are requests wrk abandoned "
               "at its deadline that the server still applied).", "", *self.hot_table(), "",
               "## Workload 5: scale", "", *self.scale_section(),
               "", "## Targets (ratios from this run)", "", *self.target_lines(), "",
                "## Codec micro-benchmarks (workload 6)", "", *self.codec_table(), "",
                "![throughput chart](chart.svg)", ""]
        return "\n".join(out)

    # ------------------------------------------------------------ chart

    def svg(self):
        names = list(self.systems)
        top = max((r["rps"] for r in self.rows), default=1)
        bar, gap, left, width = 16, 4, 190, 520
        palette = {"satchel": ["#1f77b4", "#6baed6"], "flask": ["#9467bd", "#c5b0d5"],
                   "tower": ["#2ca02c", "#98df8a"], "actix": ["#d62728", "#ff9896"],
                   "axum": ["#ff7f0e", "#ffbb78"]}
        family = [n.split("-")[0] for n in names]
        colors = [palette.get(f, ["#888888"])[family[:i].count(f) % 2] for i, f in enumerate(family)]
        y, parts = 30, []
        for w, title in WORKLOADS.items():
            parts.append(f'<text x="10" y="{y}" font-weight="bold">Workload {title}</text>')
            y += 10
            for i, name in enumerate(names):
                values = self.rps(name, w)
                label = f"{name} {self.systems[name]['ceiling']}" if w == "4" else name
                parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{label}</text>')
                if values:
                    lo, mid, hi = (width * v / top for v in spread(values))
                    parts.append(f'<rect x="{left}" y="{y}" width="{mid:.1f}" height="{bar}" '
                                 f'fill="{colors[i]}"/>')
                    parts.append(f'<line x1="{left + lo:.1f}" x2="{left + hi:.1f}" y1="{y + bar / 2}" '
                                 f'y2="{y + bar / 2}" stroke="black"/>')
                    parts.append(f'<text x="{left + max(mid, hi) + 6:.1f}" y="{y + 12}">{k(median(values))}</text>')
                else:
                    parts.append(f'<text x="{left + 4}" y="{y + 12}" fill="gray">{self.why_missing(name, w)}</text>')
                y += bar + gap
            y += 24
        y = self.svg_scale(parts, y, dict(zip(names, colors)), top, (bar, gap, left, width))
        caption = (f"requests/s, median of {self.meta.get('repeats')} runs (line: min–max); "
                   "wrk on loopback, a shared 2-core machine")
        parts.append(f'<text x="10" y="{y}" fill="gray">{caption}</text>')
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{y + 10}" '
                f'font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n'
                + "\n".join(parts) + "\n</svg>\n")

    def svg_scale(self, parts, y, colors, top, geometry):
        """Workload 5's panel: the scaled server's req/s per level (median, line: min–max) and
        its ratio to the paired control runs. Returns the next free y."""
        bar, gap, left, width = geometry
        scaled = {n: i["levels"] for n, i in self.meta.get("scale", {}).items() if i.get("levels")}
        if not scaled:
            return y
        parts.append(f'<text x="10" y="{y}" font-weight="bold">Workload 5 scale: workload 1 with N sessions '
                     'stored (× = scaled / paired 1k control)</text>')
        y += 10
        for name, levels in scaled.items():
            for level in levels:
                lo, mid, hi = (width * v / top for v in spread(level["rps"]))
                parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{name} '
                             f'{count(level["stored"])}</text>')
                parts.append(f'<rect x="{left}" y="{y}" width="{mid:.1f}" height="{bar}" '
                             f'fill="{colors.get(name, "#888888")}"/>')
                parts.append(f'<line x1="{left + lo:.1f}" x2="{left + hi:.1f}" y1="{y + bar / 2}" '
                             f'y2="{y + bar / 2}" stroke="black"/>')
                parts.append(f'<text x="{left + max(mid, hi) + 6:.1f}" y="{y + 12}">{k(median(level["rps"]))} '
                             f'({median(level["vs_control"]):.2f}×)</text>')
                y += bar + gap
            y += 8
        return y + 16


def main():
    report = Report()
    (RESULTS / "summary.md").write_text(report.markdown())
    (RESULTS / "chart.svg").write_text(report.svg())
    print(f"wrote {RESULTS / 'summary.md'} and {RESULTS / 'chart.svg'}")


if __name__ == "__main__":
    main()
