#!/usr/bin/env python3
"""Resident memory of `satchel serve` around failed logins (argon2's working memory).

Starts the release binary on 127.0.0.1 (a private data dir), then prints VmRSS from
/proc/PID/status: at start, after 8 sequential failed logins, after 100 parallel ones, and
again 10 s later. Loopback only; bounded (108 logins).

    cargo build --release -p satchel-cli && python3 scripts/login_rss.py
"""
import http.client
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "satchel")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def request(addr, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection(*addr, timeout=120)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def login_form(addr):
    response, page = request(addr, "GET", "/login")
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    return cookie, token


def failed_login(addr, name):
    # A fresh user name each time: the throttle (5 per name and address) is not what is measured.
    cookie, token = login_form(addr)
    body = urllib.parse.urlencode({"username": name, "password": "wrong", "csrf_token": token})
    response, _ = request(addr, "POST", "/login", {
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, body)
    return response.status


def main():
    data_dir = tempfile.mkdtemp(prefix="satchel-rss-")
    env = dict(os.environ, SECRET_KEY="rss-measurement-key-0123456789-abcdefghijklmnop",
               ADMIN_PASSWORD="admin password for rss", RUST_LOG="warn")
    server = subprocess.Popen([BIN, "serve", "--addr", "127.0.0.1:0", "--data-dir", data_dir],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        for line in server.stdout:
            if line.startswith("satchel listening on http://"):
                host, port = line.split("//")[1].strip().split(":")
                addr = (host, int(port))
                break
        time.sleep(0.5)
        print(f"start:                         {rss_kib(server.pid) / 1024:7.1f} MiB")
        statuses = [failed_login(addr, f"seq{i}") for i in range(8)]
        print(f"after 8 sequential failures:   {rss_kib(server.pid) / 1024:7.1f} MiB  {set(statuses)}")
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(failed_login(addr, f"par{i}")))
                   for i in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        counts = {s: results.count(s) for s in set(results)}
        print(f"after 100 parallel failures:   {rss_kib(server.pid) / 1024:7.1f} MiB  {counts}")
        time.sleep(10)
        print(f"10 s later:                    {rss_kib(server.pid) / 1024:7.1f} MiB")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
