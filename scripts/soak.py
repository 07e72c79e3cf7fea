#!/usr/bin/env python3
"""Soak test for `satchel serve`: many keep-alive connections mixing every route, with slow
clients, for a bounded time, on loopback only (the server on 127.0.0.1, the clients spread over
127.0.0.2-251, each address under the per-address connection cap). Fails (exit 1) on any error: a 5xx, a
malformed response, or a normal connection cut by the server.

    python3 scripts/soak.py [SECONDS] [CONNECTIONS] [--store memory|cookie|redis://...]

Defaults: 60 s, 256 connections (about 1 in 8 a slow client: a request head dribbled out
over ~1.6 s, well under the server's header timeout (6 s here), so it must be served; and a few that stall past
it, which must be cut). Starts the release binary with a private data directory; prints
requests, statuses, and the server's resident memory (VmRSS) at start and end. The binary is
$SATCHEL_BIN, else target/release/satchel (build it with `cargo build --release -p satchel-cli`).
"""
import argparse
import asyncio
import collections
import os
import random
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# SATCHEL_BIN picks the binary (CI uses the debug build its tests made); default: release.
BIN = os.environ.get("SATCHEL_BIN", os.path.join(ROOT, "target", "release", "satchel"))
ROUTES = ["/set_session", "/get_session", "/delete_session", "/clear_session", "/counter",
          "/login", "/dashboard", "/session", "/healthz", "/metrics", "/logout", "/no_such_page"]
HEADER_TIMEOUT = 6


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1)) / 1024


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    cookies = []
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
            if k.strip().lower() == "set-cookie":
                cookies.append(v.strip())
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif "chunked" in headers.get("transfer-encoding", ""):
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        body = b""
    return status, headers, cookies, body


class Stats:
    def __init__(self):
        self.statuses = collections.Counter()
        self.errors = []
        self.cut_stalled = 0
        self.requests = 0


async def worker(n, addr, deadline, stats, slow):
    cookie = None
    csrf = None
    reader = writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(*addr, local_addr=client_addr(n))
            path = random.choice(ROUTES)
            method, body = "GET", b""
            # Failed logins cost an argon2 hash each: a few workers post them, at a rate the
            # hashing slots keep up with (more is shed with a 503 by design, see SECURITY.md).
            if path == "/login" and csrf and n % 32 == 0 and random.random() < 0.3:
                method = "POST"
                body = f"username=soak{n}&password=wrong&csrf_token={csrf}".encode()
            head = f"{method} {path} HTTP/1.1\r\nHost: soak\r\n"
            if cookie:
                head += f"Cookie: {cookie}\r\n"
            if method == "POST":
                head += ("Content-Type: application/x-www-form-urlencoded\r\n"
                         f"Content-Length: {len(body)}\r\n")
            data = (head + "\r\n").encode() + body
            if slow:
                step = max(1, len(data) // 8 + 1)
                for i in range(0, len(data), step):
                    writer.write(data[i:i + step])
                    await writer.drain()
                    await asyncio.sleep(0.2)
            else:
                writer.write(data)
                await writer.drain()
            status, headers, cookies, page = await asyncio.wait_for(read_response(reader), 30)
            stats.requests += 1
            stats.statuses[status] += 1
            if status >= 500:
                stats.errors.append(f"{method} {path}: {status} {page[:200]!r}")
            for c in cookies:
                if c.startswith("session="):
                    value = c.split(";")[0]
                    cookie = None if value == "session=" else value
            found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
            if found:
                csrf = found.group(1).decode()
            if headers.get("connection", "").lower() == "close":
                writer.close()
                writer = None
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
            stats.errors.append(f"worker {n}: {type(e).__name__}: {e}")
            writer = None
    if writer is not None:
        writer.close()


def client_addr(n):
    """The loopback address client `n` connects from: many clients, as in production, each
    under the server's per-address connection cap (127.0.0.2 to 127.0.0.251)."""
    return (f"127.0.0.{2 + n % 250}", 0)


async def stalled(n, addr, deadline, stats):
    """Sends half a request head and stops: the server must cut it after its header timeout."""
    while time.monotonic() < deadline - HEADER_TIMEOUT - 2:
        reader, writer = await asyncio.open_connection(*addr, local_addr=client_addr(n))
        writer.write(b"GET /counter HTTP/1.1\r\nHost: soak\r\nX-Stalled: ")
        await writer.drain()
        try:
            left = await asyncio.wait_for(reader.read(), HEADER_TIMEOUT + 10)
            stats.cut_stalled += 1
            del left
        except asyncio.TimeoutError:
            stats.errors.append("a stalled client was not cut")
        writer.close()


async def run(addr, seconds, connections):
    stats = Stats()
    deadline = time.monotonic() + seconds
    tasks = [worker(n, addr, deadline, stats, slow=(n % 8 == 7)) for n in range(connections - 4)]
    tasks += [stalled(connections + n, addr, deadline, stats) for n in range(4)]
    await asyncio.gather(*tasks)
    return stats


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("seconds", type=int, nargs="?", default=60)
    parser.add_argument("connections", type=int, nargs="?", default=256)
    parser.add_argument("--store", default="memory")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="satchel-soak-")
    env = dict(os.environ, SECRET_KEY="soak-test-key-0123456789-abcdefghijklmnopqrstuv",
               ADMIN_PASSWORD="admin password for soak", RUST_LOG="warn")
    server = subprocess.Popen(
        [BIN, "serve", "--addr", "127.0.0.1:0", "--data-dir", data_dir, "--store", args.store,
         "--header-timeout", str(HEADER_TIMEOUT)],
        stdout=subprocess.PIPE, stderr=open(os.path.join(data_dir, "server.log"), "w"),
        env=env, text=True)
    try:
        addr = None
        for line in server.stdout:
            if line.startswith("satchel listening on http://"):
                host, port = line.split("//")[1].strip().split(":")
                addr = (host, int(port))
                break
        if addr is None:
            print("the server did not start", file=sys.stderr)
            return 1
        start_rss = rss_mib(server.pid)
        started = time.monotonic()
        stats = asyncio.run(run(addr, args.seconds, args.connections))
        took = time.monotonic() - started
        end_rss = rss_mib(server.pid)
        alive = server.poll() is None
    finally:
        server.kill()
        server.wait()
    print(f"soak: {args.connections} connections, {took:.0f} s, store {args.store}")
    print(f"  requests: {stats.requests} ({stats.requests / took:.0f}/s), statuses: "
          f"{dict(sorted(stats.statuses.items()))}")
    print(f"  stalled clients cut: {stats.cut_stalled}")
    print(f"  server RSS: {start_rss:.1f} MiB at start, {end_rss:.1f} MiB at end")
    print(f"  errors: {len(stats.errors)}")
    for error in stats.errors[:20]:
        print(f"    {error}")
    if not alive:
        print("  the server died", file=sys.stderr)
    return 0 if alive and not stats.errors and stats.requests > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
