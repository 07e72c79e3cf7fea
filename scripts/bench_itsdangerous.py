#!/usr/bin/env python3
"""Flask's own cookie cost, to read next to `cargo bench -p satchel-session --bench codec`.

Times the serializer Flask 3.1 builds for its session cookie (itsdangerous
URLSafeTimedSerializer: salt "cookie-session", key derivation "hmac", SHA-1, TaggedJSONSerializer)
on the same two sessions as the Rust benchmark (~200 bytes and ~3 KB of JSON), and prints
microseconds per operation.

    /work/main/.venv/bin/python scripts/bench_itsdangerous.py [--repeat N]

Needs Flask 3.1 (`python3 -m venv .venv && .venv/bin/pip install 'flask==3.1.*'`).
"""

import argparse
import timeit

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

SECRET_KEY = "a benchmark secret key, long enough"


def small_session():
    """The same data as `small_session()` in crates/satchel/benches/codec.rs."""
    return {
        "_fresh": True,
        "_id": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "_user_id": "42",
        "csrf_token": "2f1e0c56a3b0d5e8f7c9a4b1d2e3f40516273849",
        "theme": "dark",
        "cart": [3, 14, 15],
    }


def large_session(serializer):
    """The same data as `large_session()` in crates/satchel/benches/codec.rs."""
    data = small_session()
    cart = []
    while len(serializer.serializer.dumps(data)) < 2_800:
        n = len(cart)
        cart.append(
            {
                "sku": f"SKU-{100_003 * n % 999_983:06}",
                "qty": n % 4 + 1,
                "name": f"Item number {n} in the cart",
                "price": 9.99 + n,
            }
        )
        data["items"] = list(cart)
    return data


def per_op_us(statement, number, repeat):
    """The best of `repeat` runs of `number` calls, in microseconds per call."""
    return min(timeit.repeat(statement, number=number, repeat=repeat)) / number * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2_000, help="calls per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best is kept")
    args = parser.parse_args()

    app = Flask(__name__)
    app.secret_key = SECRET_KEY
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)

    for label, data in [("200B", small_session()), ("3KB", large_session(serializer))]:
        json_len = len(serializer.serializer.dumps(data))
        cookie = serializer.dumps(data)
        assert serializer.loads(cookie) == data
        dumps = per_op_us(lambda: serializer.dumps(data), args.number, args.repeat)
        loads = per_op_us(lambda: serializer.loads(cookie), args.number, args.repeat)
        both = per_op_us(
            lambda: serializer.dumps(serializer.loads(cookie)), args.number, args.repeat
        )
        print(
            f"itsdangerous/{label}: json {json_len} B, cookie {len(cookie)} B: "
            f"dumps {dumps:.1f} us, loads {loads:.1f} us, round trip {both:.1f} us"
        )


if __name__ == "__main__":
    main()
