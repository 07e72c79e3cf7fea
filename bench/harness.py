"""Starts every system of systems.txt on loopback, mints its sessions, drives it with wrk, and
writes bench/results/. Called by bench/run after the builds (see bench/README.md for the knobs).

Workloads (issue 5):
  1 /counter, each request a different cookie from a pool of POOL sessions (read-modify-write)
  2 /counter, one hot session on every connection: throughput, non-2xx, lost updates
  3 /get_session with the pool's cookies (read only)
  4 the system's no-session route, no cookie (the ceiling)
  5 scale (stores): a fresh scaled server and a fresh control server, a pool of SCALE_LEVELS[0]
    sessions on each; for each level the scaled store filled (over HTTP, no cookie: the real
    create path) up to that many stored sessions, workload 1 on control and scaled in pairs, the
    scaled server's RSS (and Redis's used_memory) per stored session
  6 codec micro-benchmarks: cargo bench -p satchel-session --bench codec + itsdangerous timing
Systems are interleaved (order rotated each repeat) so drift on the machine hits all of them;
workload 4 runs right after workload 1 on each system, so their ratio compares neighbours.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = Path(os.environ.get("RESULTS", BENCH / "results")).resolve()  # a subset run: RESULTS=/tmp/x
RAW = RESULTS / "raw"
HOST = "127.0.0.1"
SECRET_KEY = "satchel-bench-only-not-a-secret-0123456789abcdef"


def setting(name, default):
    return os.environ.get(name, default)


DURATION = setting("DURATION", "3s")
REPEATS = int(setting("REPEATS", "3"))
POOL = int(setting("POOL", "10000"))
CONNECTIONS = int(setting("CONNECTIONS", "32"))
WRK_THREADS = int(setting("WRK_THREADS", "2"))
PIN = setting("PIN", "0") == "1"
SERVER_CPUS = setting("SERVER_CPUS", "0")
WRK_CPUS = setting("WRK_CPUS", "1")
BASE_PORT = int(setting("BASE_PORT", "5100"))
REDIS_PORT = int(setting("REDIS_PORT", "6390"))
CONTROL_REDIS_PORT = REDIS_PORT + 1  # workload 5's control servers' Redis
WORKLOADS = set(setting("WORKLOADS", "123456"))
SCALE_LEVELS = sorted(int(x) for x in setting("SCALE_LEVELS", "1000,100000,1000000").split(","))
SCALE_REPEATS = int(setting("SCALE_REPEATS", "2"))
SCALE_FILL_LIMIT = float(setting("SCALE_FILL_LIMIT", "90"))  # seconds of filling per system
SCALE_SETTLE = float(setting("SCALE_SETTLE", "3.5"))  # seconds between runs on the same pool
ONLY = re.compile(setting("SYSTEMS", "."))

PLACES = {
    "satchel": str(ROOT / "target/release/satchel"),
    "tower": str(BENCH / "target/release/tower-sessions-peer"),
    "satchel_lib": str(BENCH / "target/release/satchel-axum-peer"),
    "satchel_actix": str(BENCH / "target/release/satchel-actix-peer"),
    "actix_session": str(BENCH / "target/release/actix-session-peer"),
    "axum_session": str(BENCH / "target/release/axum-session-peer"),
    "venv": str(BENCH / ".venv"),
    "peers": str(BENCH / "peers"),
    "redis": f"redis://{HOST}:{REDIS_PORT}",
    "postgres": setting("POSTGRES_URL", f"postgres://postgres@{HOST}:5432/satchel_bench"),
    "mysql": setting("MYSQL_URL", f"mysql://root@{HOST}:3306/satchel_bench"),
}
# The same PostgreSQL database for SQLAlchemy (Flask-Session), through psycopg 3.
PLACES["sqlalchemy_postgres"] = PLACES["postgres"].replace("postgres://", "postgresql+psycopg://", 1)


def pinned(cpus, argv):
    return ["taskset", "-c", cpus, *argv] if PIN else argv


def read_systems():
    systems = []
    for line in (BENCH / "systems.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sessions, status, workloads, ceiling, command = [c.strip() for c in line.split("|")]
        systems.append(dict(name=name, sessions=sessions, status=status,
                            workloads=workloads, ceiling=ceiling, command=command))
    return systems


# ---------------------------------------------------------------- processes


class Processes:
    """Every server this run starts; all are killed (process group) on exit."""

    def __init__(self):
        self.running = []

    def start(self, name, argv, env=None):
        log = open(RAW / f"{name}.log", "w")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        self.running.append((name, proc))
        return proc

    def stop_all(self):
        self.stop([proc for _, proc in self.running])

    def stop(self, procs):
        """Stops these processes (SIGTERM to the group, SIGKILL after 10 s) and forgets them."""
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.running = [(n, p) for n, p in self.running if p not in procs]


def port_is_free(port):
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) != 0


def wait_ready(name, proc, probe, deadline_s=60):
    """Polls `probe()` until it succeeds; fails if the process exits or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (RAW / f"{name}.log").read_text().strip().splitlines()[-1:]
            raise RuntimeError(f"{name} exited ({proc.returncode}): {' '.join(tail)}")
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(0.05)  # poll interval, not synchronisation: readiness is the probe
    raise RuntimeError(f"{name} not ready after {deadline_s}s")


# ---------------------------------------------------------------- http


def kept_cookie(response):
    """The name=value of the response's first Set-Cookie that sets a cookie, or None. One that
    removes a cookie (an empty value or Max-Age=0: axum_session sends one for its `store` cookie
    on every response, before or after the session's) is what a browser would not keep."""
    for header in response.msg.get_all("Set-Cookie") or []:
        pair = header.split(";", 1)[0].strip()
        if pair.partition("=")[2] and "max-age=0" not in header.lower().replace(" ", ""):
            return pair
    return None


def get(port, path, cookie=None):
    """GET on loopback; returns (status, body, the cookie it sets (`kept_cookie`) or None)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        body = response.read().decode()
        return response.status, body, kept_cookie(response)
    finally:
        conn.close()


def new_session(port):
    """One session as a client sees it: /set_session, then /counter (n = 1)."""
    _, _, cookie = get(port, "/set_session")
    status, body, updated = get(port, "/counter", cookie)
    if status != 200 or body.strip() != "1" or not cookie:
        raise RuntimeError(f"minting a session on :{port} gave {status} {body[:80]!r}")
    return updated or cookie


def mint_pool(system, port, size, path=None):
    path = path or RAW / "pools" / f"{system['name']}.txt"
    with ThreadPoolExecutor(max_workers=8) as pool:
        cookies = list(pool.map(lambda _: new_session(port), range(size)))
    path.write_text("\n".join(cookies) + "\n")
    return path


def read_counter(port, cookie):
    status, body, _ = get(port, "/counter", cookie)
    if status != 200:
        raise RuntimeError(f"/counter on :{port} gave {status}")
    return int(body)


def settled_counter(port, cookie, tries=50):
    """The counter once in-flight requests have drained (two reads in a row differ by exactly
    1), minus the increments these reads made."""
    previous = read_counter(port, cookie)
    for reads in range(2, tries):
        current = read_counter(port, cookie)
        if current == previous + 1:
            return current - reads
        previous = current
    raise RuntimeError(f"the hot counter on :{port} did not settle")


# ---------------------------------------------------------------- wrk


def wrk_json(port, path, script, argument, duration):
    """wrk with one of bench/wrk/'s scripts; returns the JSON line its done() prints."""
    argv = pinned(WRK_CPUS, ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{duration}",
                             "-s", str(BENCH / "wrk" / script), f"http://{HOST}:{port}{path}",
                             "--", str(argument)])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("JSON "))
    return json.loads(line[5:])


def wrk(port, path, cookies):
    result = wrk_json(port, path, "rotate.lua", cookies, DURATION)
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["non_2xx"] = result["errors"]["status"]
    return result


def run_workload(number, system, port, pools):
    """One wrk run of `number` on `system`; returns the result row."""
    cookies, path = {
        "1": (pools.get("pool"), "/counter"),
        "2": (pools.get("hot"), "/counter"),
        "3": (pools.get("pool"), "/get_session"),
        "4": ("-", system["ceiling"]),
    }[number]
    hot_server = number == "2" and system["sessions"] == "server"
    hot_cookie = pools["hot"].read_text().strip() if hot_server else None
    before = read_counter(port, hot_cookie) if hot_server else None
    row = {"system": system["name"], "workload": number, "path": path, **wrk(port, path, cookies)}
    if hot_server:
        applied = settled_counter(port, hot_cookie) - before
        row["ok"] = row["requests"] - row["non_2xx"]
        row["applied"] = applied
        row["lost_updates"] = row["ok"] - applied
    return row


def measure(number, system, port, pools, repeat):
    row = {**run_workload(number, system, port, pools), "repeat": repeat}
    print(f"  repeat {repeat} workload {number} {system['name']:<22} {row['rps']:>10.0f} rps"
          + (f"  lost {row['lost_updates']}" if "lost_updates" in row else ""), flush=True)
    return row


# ---------------------------------------------------------------- codec (workload 6)


def codec_benchmarks():
    """criterion's codec bench and itsdangerous's timing; each is skipped (with the reason) when
    it is not there or does not build."""
    out = {}
    started = time.time()
    bench = subprocess.run(["cargo", "bench", "-p", "satchel", "--bench", "codec"],
                           cwd=ROOT, capture_output=True, text=True, timeout=1800)
    (RAW / "codec.log").write_text(bench.stdout + bench.stderr)
    if bench.returncode != 0:
        out["criterion"] = {"skipped": "cargo bench -p satchel-session --bench codec failed: "
                            + (bench.stderr.strip().splitlines() or ["?"])[-1]}
    else:
        out["criterion"] = criterion_estimates(started)
    script = ROOT / "scripts/bench_itsdangerous.py"
    if not script.exists():
        out["itsdangerous"] = {"skipped": "scripts/bench_itsdangerous.py not there yet"}
        return out
    timing = subprocess.run([str(BENCH / ".venv/bin/python"), str(script)],
                            capture_output=True, text=True, timeout=600)
    pattern = re.compile(r"itsdangerous/(\S+):.*dumps ([\d.]+) us, loads ([\d.]+) us, round trip ([\d.]+) us")
    found = {m[1]: {"dumps_ns": float(m[2]) * 1e3, "loads_ns": float(m[3]) * 1e3,
                    "round_trip_ns": float(m[4]) * 1e3} for m in pattern.finditer(timing.stdout)}
    out["itsdangerous"] = found or {"skipped": f"no timings in its output: {timing.stderr.strip()[-200:]}"}
    return out


def criterion_estimates(since):
    """{"group/function": median ns} for every criterion result written by this run."""
    estimates = {}
    for meta in (ROOT / "target/criterion").glob("**/new/benchmark.json"):
        if meta.stat().st_mtime < since:
            continue
        info = json.loads(meta.read_text())
        median = json.loads((meta.parent / "estimates.json").read_text())["median"]["point_estimate"]
        estimates[f"{info['group_id']}/{info['function_id']}"] = median
    return dict(sorted(estimates.items()))


# ---------------------------------------------------------------- main


def main():
    (RAW / "pools").mkdir(parents=True, exist_ok=True)
    systems = read_systems()
    ready = [s for s in systems if s["status"] == "ready" and ONLY.search(s["name"])]
    processes = Processes()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    meta = describe_run(systems)
    rows = []
    try:
        if any("{redis}" in s["command"] for s in ready) and WORKLOADS & set("12345"):
            start_redis(processes)
        if any("{redis}" in s["command"] and "5" in s["workloads"] for s in ready) and "5" in WORKLOADS:
            start_redis(processes, CONTROL_REDIS_PORT, "redis-control")
        ports = start_servers(ready, processes, meta["failed"]) if WORKLOADS & set("1234") else {}
        pools = mint_pools(ready, ports, meta["failed"])
        for repeat in range(1, REPEATS + 1):
            rows += run_repeat(repeat, [s for s in ready if s["name"] in pools], ports, pools)
        if "5" in WORKLOADS:
            rows += run_scale(systems, ready, processes, meta)
    finally:
        processes.stop_all()
    meta["loadavg_after"] = os.getloadavg()
    write_json("wrk.json", rows)
    if "6" in WORKLOADS:
        print("codec micro-benchmarks (cargo bench -p satchel-session --bench codec, itsdangerous)", flush=True)
        write_json("codec.json", codec_benchmarks())
    meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_json("meta.json", meta)


def describe_run(systems):
    """The settings and the machine's state, for meta.json."""
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration": DURATION, "repeats": REPEATS, "pool": POOL, "connections": CONNECTIONS,
        "wrk_threads": WRK_THREADS, "scale_levels": SCALE_LEVELS, "scale_repeats": SCALE_REPEATS,
        "scale_fill_limit_s": SCALE_FILL_LIMIT, "scale_settle_s": SCALE_SETTLE,
        "pinning": {"server_cpus": SERVER_CPUS, "wrk_cpus": WRK_CPUS} if PIN else None,
        "cpus": os.cpu_count(), "loadavg_before": os.getloadavg(), "selected": ONLY.pattern,
        "systems": {s["name"]: {k: v for k, v in s.items() if k != "name"} for s in systems},
        "failed": {}, "scale": {},
    }


def mint_pools(ready, ports, failed):
    """{system: {"pool": file, "hot": file}} for every started system; one that cannot mint its
    sessions is reported as failed and left out."""
    pools = {}
    for s in (s for s in ready if s["name"] in ports):
        print(f"minting {POOL} sessions + 1 hot session on {s['name']}", flush=True)
        hot = RAW / "pools" / f"{s['name']}.hot.txt"
        try:
            hot.write_text(new_session(ports[s["name"]]) + "\n")
            pools[s["name"]] = {"pool": mint_pool(s, ports[s["name"]], POOL), "hot": hot}
        except RuntimeError as e:
            print(f"skipping {s['name']}: {e}", file=sys.stderr)
            failed[s["name"]] = str(e)
    return pools


def run_repeat(repeat, systems, ports, pools):
    """Every workload on every system once, the system order rotated by the repeat number.
    Workload 4 runs right after workload 1 on the same system: their ratio is a target."""
    shift = repeat % max(1, len(systems))
    rows = []
    for phase in ("14", "2", "3"):
        for s in systems[shift:] + systems[:shift]:
            for number in phase:
                if number in WORKLOADS and number in s["workloads"]:
                    rows.append(measure(number, s, ports[s["name"]], pools[s["name"]], repeat))
    return rows


# ---------------------------------------------------------------- scale (workload 5)


def scale(s, port, processes):
    """Workload 5 on system `s`, on two fresh servers: the *scaled* one (port `port`) and a
    *control* one (`port + 1`, for Redis stores on the control Redis), each with a pool of
    SCALE_LEVELS[0] sessions minted as workload 1's. For each level the scaled server's store is
    filled up to LEVEL stored sessions (pool included) by cookie-less /counter requests (each a
    new session through the server's real create path), then workload 1 runs SCALE_REPEATS times
    on each server's pool, control and scaled back to back (so a pair sees the same drift of this
    shared machine, and scaled / control is the level's slowdown against the 1k-session store),
    then the scaled server's RSS (and Redis's used_memory) is read. Filling stops after
    SCALE_FILL_LIMIT seconds per system: the level is then measured at the size reached and the
    larger ones are skipped. Returns (rows, summary for meta.json)."""
    started = time.monotonic()
    uses_redis = "{redis}" in s["command"]
    for redis_port in (REDIS_PORT, CONTROL_REDIS_PORT) if uses_redis else ():
        redis_command("FLUSHALL", port=redis_port)  # workloads 1-4 are over
    label = f"{s['name']}.scale"
    proc = start_system(s, port, processes, label)
    servers, rows, levels, fill_spent = [proc], [], [], 0.0
    try:
        servers.append(start_system(s, port + 1, processes, f"{label}-control",
                                    {"redis": f"redis://{HOST}:{CONTROL_REDIS_PORT}"}))
        stored = SCALE_LEVELS[0]
        print(f"workload 5 on {s['name']}: pool of {stored} sessions, levels "
              + ", ".join(map(str, SCALE_LEVELS)) + " (+ a control server at the first level)", flush=True)
        pools = {}
        for name, p in (("scaled", port), ("control", port + 1)):
            cookies = mint_pool(s, p, stored, RAW / "pools" / f"{label}-{name}.txt")
            wrk_json(p, "/counter", "rotate.lua", cookies, "1s")  # warm-up, not recorded
            pools[name] = PoolRuns(p, cookies)
        previous = None
        for level in SCALE_LEVELS:
            fill = None
            if level > stored:
                fill = fill_store(port, level - stored, SCALE_FILL_LIMIT - fill_spent)
                stored += fill["created"]
                fill_spent += fill["seconds"]
            pairs = [(pools["control"].next(), pools["scaled"].next()) for _ in range(SCALE_REPEATS)]
            memory = {"rss_bytes": rss_bytes(proc.pid)}
            if uses_redis:
                memory["redis_used_memory"] = redis_used_memory()
                memory["redis_keys"] = int(redis_command("DBSIZE"))
            added = stored - previous["stored"] if previous else 0
            for key, per_session in (("rss_bytes", "rss_per_session"),
                                     ("redis_used_memory", "redis_per_session")):
                if key in memory and added > 0:  # bytes per session added since the last level
                    memory[per_session] = (memory[key] - previous[key]) / added
            info = {"level": level, "stored": stored, "reached": stored >= level, **memory, "fill": fill}
            for repeat, (base, run) in enumerate(pairs, 1):
                rows.append({"system": s["name"], "workload": "5", "path": "/counter", "repeat": repeat,
                             "server": "scaled", **info, **run, "vs_control": run["rps"] / base["rps"]})
                rows.append({"system": s["name"], "workload": "5", "path": "/counter", "repeat": repeat,
                             "server": "control", "level": level, "stored": SCALE_LEVELS[0], **base})
            levels.append({**info, "rps": [round(run["rps"]) for _, run in pairs],
                           "control_rps": [round(base["rps"]) for base, _ in pairs],
                           "vs_control": [run["rps"] / base["rps"] for base, run in pairs],
                           "non_2xx": sum(run["non_2xx"] + base["non_2xx"] for base, run in pairs)})
            print(f"  workload 5 {s['name']:<22} {stored:>9} stored "
                  + " ".join(f"{run['rps']:>7.0f} (control {base['rps']:.0f})" for base, run in pairs)
                  + f" rps  RSS {memory['rss_bytes'] / 2**20:.0f} MiB"
                  + (f" ({memory['rss_per_session']:.0f} B/session)" if "rss_per_session" in memory else "")
                  + (f"  Redis {memory['redis_used_memory'] / 2**20:.0f} MiB"
                     + (f" ({memory['redis_per_session']:.0f} B/session)" if "redis_per_session" in memory else "")
                     if uses_redis else "")
                  + (f"  fill {fill['created']} in {fill['seconds']:.1f}s" if fill else ""), flush=True)
            previous = {"stored": stored, **memory}
            if stored < level:
                break
    finally:
        processes.stop(servers)
        for redis_port in (REDIS_PORT, CONTROL_REDIS_PORT) if uses_redis else ():
            redis_command("FLUSHALL", port=redis_port)
    largest = levels[-1]
    summary = {"status": "measured", "pool": SCALE_LEVELS[0], "levels": levels,
               "fill_seconds": round(fill_spent, 1), "seconds": round(time.monotonic() - started, 1)}
    if largest["stored"] < SCALE_LEVELS[-1]:
        summary["why"] = (f"stopped at {largest['stored']} stored sessions: filling is limited to "
                          f"SCALE_FILL_LIMIT={SCALE_FILL_LIMIT:g}s per system"
                          + (f" ({largest['fill']['non_2xx']} non-2xx while filling)"
                             if largest["fill"] and largest["fill"]["non_2xx"] else ""))
    return rows, summary


class PoolRuns:
    """Workload 1 runs on the scale pool, each started at least SCALE_SETTLE seconds after the
    previous one on the pool ended (the warm-up counts). wrk abandons its in-flight requests at
    its deadline; satchel's store layer can then keep such a session's lease until the lease
    expires (3 s by default), and a run started at once would stall on those sessions. The
    other workloads get that pause from the interleaving."""

    def __init__(self, port, cookies):
        self.port, self.cookies, self.ended = port, cookies, time.monotonic()

    def next(self):
        time.sleep(max(0.0, self.ended + SCALE_SETTLE - time.monotonic()))
        run = wrk(self.port, "/counter", self.cookies)
        self.ended = time.monotonic()
        return run


def fill_store(port, count, seconds):
    """Creates at least `count` sessions with cookie-less /counter requests (wrk/fill.lua), for
    at most `seconds`; returns {"created" (2xx responses), "seconds", "rate", "non_2xx"}."""
    if seconds < 1:
        return {"created": 0, "seconds": 0.0, "rate": 0, "non_2xx": 0, "socket_errors": 0}
    share = -(-count // WRK_THREADS)
    argv = pinned(WRK_CPUS, ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{int(seconds)}s",
                             "-s", str(BENCH / "wrk/fill.lua"), f"http://{HOST}:{port}/counter",
                             "--", str(share)])
    started = time.monotonic()
    wrk_proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    filled, lines = 0, []
    for line in wrk_proc.stdout:  # every thread prints FILLED when done; wrk sleeps out its -d
        lines.append(line)
        filled += line.startswith("FILLED")
        if filled == WRK_THREADS:
            wrk_proc.send_signal(signal.SIGINT)
            filled = -1
    if wrk_proc.wait(timeout=60) != 0:
        raise RuntimeError(f"wrk (fill) exited {wrk_proc.returncode}: {wrk_proc.stderr.read()[-200:]}")
    summary = next((l for l in lines if l.startswith("JSON ")), None)
    if summary is None:
        raise RuntimeError(f"wrk (fill) printed no summary: {''.join(lines)[-200:]!r}")
    result = json.loads(summary[5:])
    result["seconds"] = time.monotonic() - started
    result["rate"] = round(result["created"] / result["seconds"])
    return result


def rss_bytes(pid):
    """VmRSS of a process this harness started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def redis_command(*args, port=REDIS_PORT):
    """One command to one of the harness's Redis servers; its reply (simple or bulk string, or
    integer)."""
    request = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection((HOST, port), timeout=30) as conn:
        conn.sendall(request.encode())
        reply = conn.makefile("rb")
        kind, rest = reply.read(1), reply.readline().rstrip(b"\r\n")
        if kind == b"-":
            raise RuntimeError(f"redis {args[0]}: {rest.decode()}")
        if kind == b"$":
            return reply.read(int(rest)).decode()
        return rest.decode()


def redis_used_memory():
    info = redis_command("INFO", "memory")
    return int(next(l for l in info.splitlines() if l.startswith("used_memory:")).split(":")[1])


def run_scale(systems, ready, processes, meta):
    """Workload 5 on every selected ready system that lists it, one after the other, each on two
    fresh servers (ports after the other systems'); the others are reported with the reason."""
    rows = []
    for index, s in enumerate(s for s in systems if "5" in s["workloads"] and ONLY.search(s["name"])):
        if s["status"] != "ready":
            meta["scale"][s["name"]] = {"status": "n/a", "why": "store not built yet"}
        elif s not in ready or s["name"] in meta["failed"]:
            meta["scale"][s["name"]] = {"status": "n/a", "why": "failed to start (see meta.json)"}
        else:
            try:
                scale_rows, meta["scale"][s["name"]] = scale(s, BASE_PORT + len(ready) + 2 * index,
                                                             processes)
                rows += scale_rows
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                print(f"workload 5 on {s['name']} failed: {e}", file=sys.stderr)
                meta["scale"][s["name"]] = {"status": "failed", "why": str(e)}
    return rows


def start_redis(processes, port=REDIS_PORT, label="redis"):
    if not port_is_free(port):
        raise RuntimeError(f"port {port} is taken; set REDIS_PORT")
    argv = pinned(SERVER_CPUS, ["redis-server", "--bind", HOST, "--port", str(port),
                                "--save", "", "--appendonly", "no"])
    proc = processes.start(label, argv)

    def pong():
        with socket.create_connection((HOST, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    wait_ready(label, proc, pong)


def start_system(s, port, processes, label, places=None):
    """Starts system `s` on `port` (its log: raw/LABEL.log; `places` overrides PLACES) and waits
    for its no-session route; returns the process. RuntimeError if it does not come up."""
    if not port_is_free(port):
        raise RuntimeError(f"port {port} is taken; set BASE_PORT")
    data = RAW / "data" / label
    data.mkdir(parents=True, exist_ok=True)
    # A table of its own for every start (SQL systems), so runs and workload 5's two servers
    # never share rows. At most 48 characters (the SQL stores' limit on a table name).
    name = re.sub(r"[^a-z0-9]", "_", label.lower())[:25]
    table = f"bench_{name}_{port}_{int(time.time())}"
    argv = s["command"].format(addr=f"{HOST}:{port}", data=data, table=table,
                               **{**PLACES, **(places or {})}).split()
    env = {"SECRET_KEY": SECRET_KEY, "RUST_LOG": "warn", "ADMIN_PASSWORD": "bench-only-password"}
    proc = processes.start(label, pinned(SERVER_CPUS, argv), env)
    wait_ready(label, proc, lambda: get(port, s["ceiling"])[0] == 200)
    return proc


def start_servers(ready, processes, failed):
    ports = {}
    for index, s in enumerate(ready):
        if not port_is_free(BASE_PORT + index):
            raise RuntimeError(f"port {BASE_PORT + index} is taken; set BASE_PORT")
        try:
            start_system(s, BASE_PORT + index, processes, s["name"])
            ports[s["name"]] = BASE_PORT + index
        except RuntimeError as e:
            print(f"skipping {s['name']}: {e}", file=sys.stderr)
            failed[s["name"]] = str(e)
    return ports


def write_json(name, value):
    (RESULTS / name).write_text(json.dumps(value, indent=1) + "\n")


if __name__ == "__main__":
    main()
