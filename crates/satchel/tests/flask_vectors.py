#!/usr/bin/env python3
"""Conformance vectors for satchel's flask cookie format, made by REAL Flask.

Run by crates/satchel/tests/flask_conformance.rs with a Python that has Flask 3.1 (and so
itsdangerous 2.2):

    python3 -m venv .venv && .venv/bin/pip install 'flask==3.1.*'

Two modes, both speaking JSON:

    flask_vectors.py generate     prints {"versions": ..., "vectors": [...]}: sessions signed by
                                  Flask's own session serializer
                                  (`app.session_interface.get_signing_serializer(app)`, the clock
                                  fixed), and cookies loaded by it (`loads(max_age=...)`, as
                                  `open_session` does) to decide each expected outcome.
    flask_vectors.py parse        reads {"texts": [...]} on stdin and prints, for each, Flask's
                                  TaggedJSON of `session_json_serializer.loads(text)`, or null
                                  where Flask could not load it as a session.
    flask_vectors.py verify       reads {"items": [{secret_key, fallbacks, max_age, now, cookie}]}
                                  on stdin (cookies satchel made) and prints, for each, what Flask
                                  read: {"outcome", "json"} where json is Flask's own TaggedJSON
                                  of the loaded session.
    flask_vectors.py bulk         reads {"seed", "count"} on stdin and prints {secret_key,
                                  timestamp, max_age, items: [{json, cookie}]}: that many random
                                  sessions (seeded), each signed by Flask at the fixed timestamp.

A vector: name, secret_key, fallbacks, max_age, timestamp (when it was signed), now (when it is
read), json (the exact TaggedJSON text Flask signed, or null), cookie, outcome (ok | expired |
tampered | malformed | error), flask_json (Flask's TaggedJSON of what it loaded, when ok),
signed_with (the key that signed it, when json is given), by_fallback_key, and — only where
satchel deliberately differs — deviation {satchel, why}.

Outcomes: "tampered" is a signature that does not match; "malformed" is any other BadSignature
(no separator, no or bad timestamp) or a payload Flask cannot load (BadPayload, or data that is
not a dict: Flask answers 500); "error" is any other exception (also a 500).

Exit status 3 (with a message on stderr) when Flask cannot be imported.
"""

import base64
import datetime
import hashlib
import json
import random
import struct
import sys
import uuid
import zlib

try:
    import flask
    import itsdangerous
    from flask import Flask
    from itsdangerous import (
        BadPayload,
        BadSignature,
        SignatureExpired,
        Signer,
        TimestampSigner,
    )
    from itsdangerous.encoding import base64_encode, int_to_bytes
    from markupsafe import Markup
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(f"flask unavailable: {e}", file=sys.stderr)
    sys.exit(3)

MAX_AGE = 31 * 24 * 3600  # Flask's PERMANENT_SESSION_LIFETIME default
TS = 1_700_000_000
SECRET = "a conformance secret key"


class Clock:
    """The time itsdangerous sees: fixed, so cookies are reproducible."""

    now = TS


class FixedSigner(TimestampSigner):
    def get_timestamp(self):
        return Clock.now


def make_app(secret_key, fallbacks=(), max_age=MAX_AGE):
    app = Flask(__name__)
    app.secret_key = secret_key
    app.config["SECRET_KEY_FALLBACKS"] = list(fallbacks)
    app.permanent_session_lifetime = datetime.timedelta(seconds=max_age)
    return app


def serializer(app):
    """Flask's session serializer, exactly as `open_session`/`save_session` get it."""
    s = app.session_interface.get_signing_serializer(app)
    s.signer = FixedSigner
    return s


def sign(app, data, ts):
    """(json text, cookie) as Flask's `save_session` writes them at time `ts`."""
    with app.test_request_context():
        Clock.now = ts
        text = app.session_interface.serializer.dumps(data)
        return text, serializer(app).dumps(data)


def sign_raw(app, payload, ts=TS, timestamped=True):
    """A cookie whose payload is `payload` (bytes), signed with the app's key: for payloads
    Flask itself never writes."""
    with app.test_request_context():
        Clock.now = ts
        signer = serializer(app).make_signer()
        if not timestamped:
            signer = Signer(signer.secret_keys, salt=signer.salt,
                            key_derivation="hmac", digest_method=hashlib.sha1)
        return signer.sign(payload).decode()


def load(app, cookie, now):
    """What Flask's `open_session` makes of `cookie` at time `now`: (outcome, json or None)."""
    with app.test_request_context():
        Clock.now = now
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = serializer(app).loads(cookie, max_age=max_age)
        except SignatureExpired:
            return "expired", None
        except BadPayload:
            return "malformed", None
        except BadSignature as e:
            return ("tampered" if "does not match" in str(e) else "malformed"), None
        except Exception:  # noqa: BLE001 - Flask answers 500
            return "error", None
        if not isinstance(data, dict):
            return "malformed", None  # open_session builds a dict from it, or answers 500
        return "ok", app.session_interface.serializer.dumps(data)


VECTORS = []


def add(name, app, cookie, ts, now=None, text=None, signed_with=None, deviation=None):
    now = ts if now is None else now
    signed_with = app.secret_key if signed_with is None else signed_with
    outcome, flask_json = load(app, cookie, now)
    v = {
        "name": name,
        "secret_key": app.secret_key,
        "fallbacks": app.config["SECRET_KEY_FALLBACKS"],
        "max_age": int(app.permanent_session_lifetime.total_seconds()),
        "timestamp": ts,
        "now": now,
        "json": text,
        "cookie": cookie,
        "outcome": outcome,
        "flask_json": flask_json,
        "signed_with": signed_with,
        "by_fallback_key": signed_with != app.secret_key,
    }
    if deviation:
        v["deviation"] = {"satchel": deviation[0], "why": deviation[1]}
    VECTORS.append(v)


def add_session(name, data, app=None, ts=TS, now=None, deviation=None):
    app = app or make_app(SECRET)
    text, cookie = sign(app, data, ts)
    add(name, app, cookie, ts, now, text, deviation=deviation)
    return cookie


# --- sessions -------------------------------------------------------------------------------

def plain_sessions():
    add_session("one string", {"user": "kimi"})
    add_session("flask-login", {
        "_fresh": True,
        "_id": hashlib.sha512(b"id").hexdigest(),
        "_user_id": "42",
        "csrf_token": hashlib.sha1(b"csrf").hexdigest(),
    })
    add_session("scalars", {"n": None, "t": True, "f": False, "zero": 0, "neg": -5,
                            "i64max": 2**63 - 1, "i64min": -2**63, "over": 2**63,
                            "under": -2**63 - 1, "u64": 2**64, "big": 10**100,
                            "nbig": -(2**200)})
    add_session("nested", {"a": {"b": {"c": [1, [2, [3, {"d": []}]], {}]}},
                           "empty_list": [], "empty_dict": {}, "list": [None, True, "x", 1.5]})
    add_session("unicode", {"é": "ünïcödé", "emoji": "😀🎉", "cjk": "日本語",
                            "ctrl": "\x00\x01\x1f\x7f\x80\x9f", "esc": "\"\\/\b\f\n\r\t",
                            "bom": "\ufeff", "seps": "\u2028\u2029", "max": "\U0010ffff",
                            "key 😀": 1, "\x00": "nul key"})
    add_session("key order", {k: i for i, k in enumerate(
        ["b", "a", "B", "é", "e", "😀", "\uffff", "", " ", "_", "aa", "a\x00", "\U00010000"])})
    add_session("floats", {"a": 1e16, "b": 1e-5, "c": 0.1, "d": -0.0, "e": float("nan"),
                           "f": float("inf"), "g": float("-inf"), "h": 1.0, "i": 1e15,
                           "j": 123456789.123, "k": 5e-324, "l": 1.7976931348623157e308,
                           "m": 1.5e-05, "n": 1e-07, "o": 0.0001, "p": 2.5e-4, "q": 1e22,
                           "r": 9007199254740993.0, "s": 0.0, "t": -1e-300, "u": 2**-1074 * 3,
                           "v": 1e16 - 2, "w": 0.30000000000000004, "x": 100.0, "y": 1e100,
                           "tie1": 1059438285926254.25, "tie2": 26363981746409.3125})
    rng = random.Random(1234)
    for chunk in range(8):
        floats = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
                  for _ in range(40)]
        add_session(f"random float bits {chunk}", {"f": floats})
    for chunk in range(4):
        floats = [round(rng.uniform(-1e6, 1e6), rng.randrange(0, 12)) for _ in range(30)]
        floats += [rng.random() * 10 ** rng.randrange(-30, 30) for _ in range(30)]
        add_session(f"random decimal floats {chunk}", {"f": floats})


def tagged_sessions():
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    add_session("tuple", {"t": (1, "a", (2, 3)), "empty": ()})
    add_session("bytes", {"b": b"\x00\xffhello", "empty": b"", "one": b"a", "two": b"ab"})
    add_session("markup", {"m": Markup("<b>hi</b> & é"), "empty": Markup("")})
    add_session("uuid", {"u": u, "nil": uuid.UUID(int=0), "max": uuid.UUID(int=2**128 - 1)})
    add_session("datetime", {
        "naive": datetime.datetime(2026, 11, 25, 16, 56, 40),
        "aware": datetime.datetime(2026, 11, 25, 18, 56, 40, 123456,
                                   tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        "epoch": datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc),
        "late": datetime.datetime(9999, 12, 31, 23, 59, 59),
        "y100": datetime.datetime(100, 3, 1),
    })
    # Python itself reads a year below 100 back as 19xx/20xx: Flask's own round trip is lossy.
    add_session("datetime year 1", {"d": datetime.datetime(1, 1, 1)})
    add_session("di escape", {"a": {" t": 1}, "b": {" di": {"x": 1}}, "c": {" b": b"x"},
                              "d": {" t": 1, "x": 2}, "e": {" u": u}, "f": {" m": "m"},
                              "g": {" d": "not a date"}, "h": {" t__": 1}, "i": {"t": 1}})
    add_session("top-level tag key", {" t": [1, 2]})
    add_session("top-level di key", {" di": {" t": (1,)}})
    add_session("nested tags", {
        "x": [(b"a", Markup("m")), {"u": u}, ((1, (2, ({" t": ()},))),)],
        "y": {"z": [{" b": b"\x01"}, datetime.datetime(2000, 2, 29, 12, 0, 0)]},
    })


def size_sessions():
    """Payloads either side of itsdangerous' cutoff `len(zlib) < len(json) - 1`, and big ones."""
    app = make_app(SECRET)
    found = {}
    rng = random.Random(99)
    alphabets = ["ab", "abcdefgh", "0123456789abcdef", "abcdefghijklmnopqrstuvwxyz0123456789"]
    for attempt in range(20000):
        if len(found) == 5:
            break
        n = rng.randrange(4, 120)
        alphabet = alphabets[attempt % len(alphabets)]
        data = {"k": "".join(rng.choice(alphabet) for _ in range(n))}
        with app.test_request_context():
            text = app.session_interface.serializer.dumps(data).encode()
        diff = len(zlib.compress(text)) - (len(text) - 1)
        if -3 <= diff <= 1 and diff not in found:
            found[diff] = data
    for diff, data in sorted(found.items()):
        add_session(f"compression cutoff {diff:+d}", data)
    add_session("tiny", {})
    add_session("large compressible", {"blob": "x" * 30000, "n": list(range(500))})
    add_session("large incompressible", {"r": base64.b64encode(random.Random(5).randbytes(1800)).decode()})
    add_session("inflates past 64 KiB", {"blob": "a" * 200_000},
                deviation=("too_large", "satchel caps inflated payloads at 64 KiB"))
    add_session("cookie longer than 4096", {"r": random.Random(6).randbytes(3500).hex()},
                deviation=("too_large", "browsers drop cookies over 4096 bytes; satchel refuses them"))


def key_and_time_sessions():
    data = {"user": "kimi", "n": 1}
    for ts in [1, 255, 256, 65535, 65536, 2**24, 2**31, 2**32, 2**32 + 5, 2**37 + 12345,
               253402300799]:
        add_session(f"timestamp {ts}", data, ts=ts)
    add_session("unicode secret key", data, app=make_app("clé ünïcode 🔑"))
    add_session("empty-ish short secret key", data, app=make_app("k"))
    add_session("long secret key", data, app=make_app("s" * 200))
    # Signed with an older key, read by an app that lists it as a fallback.
    reader = make_app("new key", ["old key 2", "old key 1"])
    for old in ["old key 1", "old key 2"]:
        text, cookie = sign(make_app(old), data, TS)
        add(f"fallback key {old!r}", reader, cookie, TS, text=text, signed_with=old)
    text, cookie = sign(reader, data, TS)
    add("current key with fallbacks", reader, cookie, TS, text=text)


def rejected_cookies():
    app = make_app(SECRET)
    data = {"user": "kimi", "n": 1}
    text, cookie = sign(app, data, TS)
    payload, ts, sig = cookie.split(".")
    flip = lambda s, i: s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]  # noqa: E731
    add("age == max_age", app, cookie, TS, TS + MAX_AGE, text)
    add("age == max_age + 1", app, cookie, TS, TS + MAX_AGE + 1, text)
    add("issued in the future", app, cookie, TS, TS - 1, text)
    short = make_app(SECRET, max_age=60)
    add("short max_age, fresh", short, cookie, TS, TS + 60, text)
    add("short max_age, expired", short, cookie, TS, TS + 61, text)
    add("payload changed", app, f"{flip(payload, 3)}.{ts}.{sig}", TS)
    add("timestamp changed", app, f"{payload}.{flip(ts, 2)}.{sig}", TS)
    add("signature changed", app, f"{payload}.{ts}.{flip(sig, 0)}", TS)
    add("signature truncated", app, f"{payload}.{ts}.{sig[:-2]}", TS)
    add("signature removed", app, f"{payload}.{ts}", TS)
    add("no separator", app, payload, TS)
    add("empty", app, "", TS)
    add("unknown key", app, sign(make_app("someone else"), data, TS)[1], TS)
    add("fallback not configured", make_app("new"), sign(make_app("old"), data, TS)[1], TS)
    other_salt = itsdangerous.URLSafeTimedSerializer(SECRET, signer=FixedSigner,
                                                     signer_kwargs={"key_derivation": "hmac"})
    Clock.now = TS
    add("other salt", app, other_salt.dumps(data), TS)
    add("timestamp missing", app, sign_raw(app, base64_encode(b"{}"), timestamped=False), TS)
    long_ts = base64_encode(b"\x01" * 9).decode()
    add("timestamp longer than 8 bytes", app,
        sign_raw(app, b"e30." + long_ts.encode(), timestamped=False), TS)
    add("payload not base64", app, sign_raw(app, b"!!!"), TS)
    add("payload not json", app, sign_raw(app, base64_encode(b"{bad")), TS)
    add("payload not utf-8", app, sign_raw(app, base64_encode(b'{"a":"\xff"}')), TS)
    add("payload a list", app, sign_raw(app, base64_encode(b"[1]")), TS)
    add("payload bad tag", app, sign_raw(app, base64_encode(b'{"a":{" u":"xyz"}}')), TS)
    add("payload duplicate keys", app, sign_raw(app, base64_encode(b'{"a":1,"a":2}')), TS)
    add("payload with whitespace", app, sign_raw(app, base64_encode(b' { "a" : [ 1 , 2 ] } ')), TS)
    add("payload not zlib", app, sign_raw(app, b"." + base64_encode(b"hello")), TS)
    add("payload zlib truncated", app,
        sign_raw(app, b"." + base64_encode(zlib.compress(b'{"a":"' + b"b" * 50 + b'"}')[:-3])), TS)
    add("payload zlib with trailing bytes", app,
        sign_raw(app, b"." + base64_encode(zlib.compress(b'{"a":1}') + b"xyz")), TS)
    add("lone surrogate", app, sign_raw(app, base64_encode(b'{"s":"\\ud800"}')), TS,
        deviation=("malformed", "a Rust string cannot hold a lone surrogate"))
    add("far-future timestamp", app, sign(app, data, 2**40)[1], 2**40, TS,
        deviation=("expired", "Python cannot make a datetime past year 9999 and answers 500"))
    add("signature with padding", app, f"{payload}.{ts}.{sig}=", TS,
        deviation=("tampered", "satchel accepts canonical base64 only"))


def generate():
    plain_sessions()
    tagged_sessions()
    size_sessions()
    key_and_time_sessions()
    rejected_cookies()
    versions = {
        "python": sys.version.split()[0],
        "flask": _version("flask"),
        "itsdangerous": _version("itsdangerous"),
    }
    json.dump({"versions": versions, "vectors": VECTORS}, sys.stdout)


def verify():
    items = json.load(sys.stdin)["items"]
    out = []
    for item in items:
        app = make_app(item["secret_key"], item["fallbacks"], item["max_age"])
        outcome, text = load(app, item["cookie"], item["now"])
        out.append({"outcome": outcome, "json": text})
    json.dump(out, sys.stdout)


def parse():
    texts = json.load(sys.stdin)["texts"]
    app = make_app(SECRET)
    out = []
    with app.test_request_context():
        tagged = app.session_interface.serializer
        for text in texts:
            try:
                data = tagged.loads(text)
                out.append(tagged.dumps(data) if isinstance(data, dict) else None)
            except Exception:  # noqa: BLE001 - BadPayload in Flask: a 500
                out.append(None)
    json.dump(out, sys.stdout)


def bulk():
    """Many random sessions, signed by Flask at TS: most short, near the size where zlib starts
    to pay, so both of itsdangerous' choices (compressed or not) occur often."""
    request = json.load(sys.stdin)
    rng = random.Random(request["seed"])
    app = make_app(SECRET)
    alphabets = ["abcdefghijklmnopqrstuvwxyz", "0123456789abcdef",
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                 "ab", "éüß中文😀 \"\\<>&'\x7f\x01"]
    keys = ["n", "user_id", "username", "age", "_fresh", "_id", "csrf_token", "theme", "cart",
            "lang", "_permanent", "visits", "last"]

    def text():
        alphabet = rng.choice(alphabets)
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))

    def value(depth=0):
        kind = rng.randint(0, 7 if depth < 2 else 4)
        if kind == 0:
            return rng.randint(-10, 10**rng.randint(1, 18))
        if kind == 1:
            return rng.random() < 0.5
        if kind <= 3:
            return text()
        if kind == 4:
            return rng.choice("xyz") * rng.randint(1, 40)
        if kind == 5:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        if kind == 6:
            return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(1, 3))}
        return (text(), rng.randint(0, 9))  # a tuple: TaggedJSON's " t" tag

    items = []
    for _ in range(request["count"]):
        data = {}
        for _ in range(rng.randint(1, 4)):
            key = rng.choice(keys) if rng.random() < 0.7 else text() or "k"
            data[key] = value()
        json_text, cookie = sign(app, data, TS)
        items.append({"json": json_text, "cookie": cookie})
    json.dump({"secret_key": SECRET, "timestamp": TS, "max_age": MAX_AGE, "items": items},
              sys.stdout)


def _version(dist):
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "generate"
    modes = {"generate": generate, "parse": parse, "verify": verify, "bulk": bulk}
    if not flask.__name__ or mode not in modes:
        sys.exit(f"usage: {sys.argv[0]} generate|parse|verify|bulk")
    modes[mode]()
