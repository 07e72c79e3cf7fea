#!/usr/bin/env python3
"""Instructions per request of a server, counted by callgrind (repeatable on a noisy machine).

    scripts/callgrind_request.py [--path /counter] [--pool 2000] [--seconds 5] [--mint /set_session]
        [--no-cookie] [--json FILE] -- SERVER ARGV...

ARGV must contain `{addr}` (replaced by 127.0.0.1:PORT). The server runs under
`valgrind --tool=callgrind --instr-atstart=no`; the script mints a pool of sessions (GET
/set_session then /counter, keeping the cookie), switches instrumentation on, drives the path
with `wrk -t1 -c8` for --seconds using bench/wrk/rotate.lua (each request the next cookie),
switches it off and prints instructions per request, the top functions going to
`target/callgrind/<label>.txt`. Example:

    scripts/callgrind_request.py -- target/release/satchel serve --addr {addr} \
        --store 'memory?max_sessions=100000' --data-dir /tmp/cg-data
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
sys.path.insert(0, str(ROOT / "bench"))
from harness import kept_cookie  # noqa: E402  which Set-Cookie a client keeps, as the harness


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def get(port, path, cookie=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    response.read()
    set_cookie = kept_cookie(response)
    conn.close()
    return response.status, set_cookie


def new_session(port, mint="/set_session"):
    status, set_cookie = get(port, mint)
    if status >= 400 or not set_cookie:
        status, set_cookie = get(port, "/counter")
    if not set_cookie:
        raise RuntimeError(f"no session cookie from :{port} (status {status})")
    return set_cookie


def wait_ready(port, path, seconds=120):
    """Until the server answers `path` over HTTP (any status): a bound port is not enough, as
    actix-web binds before its workers start, and under valgrind they take a while."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            get(port, path)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on :{port}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", default="/counter")
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--label", default="profile")
    parser.add_argument("--no-cookie", action="store_true", help="send no cookie")
    parser.add_argument("--mint", default="/set_session",
                        help="the path that mints each pooled session (then /counter if it sets none)")
    parser.add_argument("--json", help="append the result as one JSON line to this file")
    parser.add_argument("server", nargs="+")
    args = parser.parse_args()

    out = ROOT / "target/callgrind"
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [a.replace("{addr}", f"{HOST}:{port}") for a in args.server]
    data = out / f"{args.label}.callgrind"
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={data}", *argv],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "warn"})
    try:
        wait_ready(port, args.path)
        pool = out / f"{args.label}.cookies"
        if args.no_cookie:
            pool_arg = "-"
        else:
            with ThreadPoolExecutor(max_workers=4) as ex:
                cookies = list(ex.map(lambda _: new_session(port, args.mint), range(args.pool)))
            pool.write_text("\n".join(cookies) + "\n")
            pool_arg = str(pool)
        subprocess.run(["callgrind_control", "-i", "on", str(server.pid)], check=True,
                       capture_output=True)
        wrk = subprocess.run(
            ["wrk", "-t1", "-c8", f"-d{args.seconds}s", "-s", str(ROOT / "bench/wrk/rotate.lua"),
             f"http://{HOST}:{port}{args.path}", "--", pool_arg],
            capture_output=True, text=True, check=True).stdout
        subprocess.run(["callgrind_control", "-i", "off", str(server.pid)], check=True,
                       capture_output=True)
        line = next(l for l in wrk.splitlines() if l.startswith("JSON "))
        result = json.loads(line[5:])
    finally:
        server.terminate()
        server.wait(timeout=60)
    annotate = subprocess.run(["callgrind_annotate", "--inclusive=no", str(data)],
                              capture_output=True, text=True).stdout
    (out / f"{args.label}.txt").write_text(annotate)
    total = next(int(l.split()[0].replace(",", "")) for l in annotate.splitlines()
                 if l.strip().endswith("PROGRAM TOTALS"))
    requests = result["requests"]
    non_2xx = result["errors"]["status"]
    print(f"{args.label}: {requests} requests ({non_2xx} non-2xx), "
          f"{total / requests:,.0f} instructions/request")
    if args.json:
        row = {"label": args.label, "path": args.path, "requests": requests, "non_2xx": non_2xx,
               "instructions_per_request": round(total / requests)}
        with open(args.json, "a") as f:
            f.write(json.dumps(row) + "\n")
    return 1 if non_2xx else 0


if __name__ == "__main__":
    sys.exit(main())
