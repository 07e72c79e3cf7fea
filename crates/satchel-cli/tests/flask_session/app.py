# A Flask app with real Flask-Session 0.8 (Redis, msgspec's MessagePack) and Flask-Login, the
# peer of `crates/satchel-cli/tests/flask_session/mod.rs`.
# argv: SECRET_KEY, Redis port, key prefix, "on"/"off" (SESSION_USE_SIGNER).
import pickle, sys
from datetime import datetime, timedelta, timezone
from uuid import UUID

import redis
from flask import Flask, session
from flask_login_peer import add_login
from flask_session import Session
from werkzeug.serving import make_server

app = Flask(__name__)
app.secret_key = sys.argv[1]
client = redis.Redis(host="127.0.0.1", port=int(sys.argv[2]), db=0)
PREFIX = sys.argv[3]
app.config.update(
    SESSION_TYPE="redis",
    SESSION_REDIS=client,
    SESSION_KEY_PREFIX=PREFIX,
    SESSION_USE_SIGNER=sys.argv[4] == "on",
    PERMANENT_SESSION_LIFETIME=timedelta(days=7),
)
Session(app)
add_login(app)

# Every kind of value, set by Flask (the reference for what each side reads back).
VALUES = {
    "str": "plain",
    "unicode": "ünïcødé ✓ 🎉 \u2028",
    "small": -7,
    "big": 2**63 - 1,
    "neg": -(2**63),
    "ubig": 2**64 - 1,
    "float": 1.5,
    "tiny": 5e-324,
    "true": True,
    "false": False,
    "none": None,
    "nested": {"a": [1, {"b": [None, 2.5]}], "c": {}, "d": []},
    "tuple": (1, "two", (3,)),
    "bytes": b"\x00\xffbytes",
    "naive": datetime(2024, 1, 2, 3, 4, 5, 678901),
    "aware": datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
    "uuid": UUID("12345678-1234-5678-1234-567812345678"),
}


@app.get("/set_all")
def set_all():
    session.update(VALUES)
    return "set"


@app.get("/show")
def show():
    """Each value Flask reads: its key, type and repr, one a line, sorted."""
    return "\n".join(
        f"{k}: {type(v).__name__} {v!r}" for k, v in sorted(session.items()) if not k.startswith("_")
    )


@app.get("/state")
def state():
    """The raw Redis side of this request's session: key, TTL, permanence."""
    key = PREFIX + session.sid
    return f"exists={client.exists(key)} ttl={client.ttl(key)} permanent={session.permanent} user={session.get('_user_id')}"


@app.get("/increment")
def increment():
    session["n"] = session.get("n", 0) + 1
    return str(session["n"])


@app.get("/raw/<sid>")
def raw(sid):
    value = client.get(PREFIX + sid)
    return "none" if value is None else value.hex()


@app.get("/plant/<kind>")
def plant(kind):
    """Plants a foreign value under a fresh sid and answers the cookie value that names it."""
    sid = app.session_interface._generate_sid(32)
    value = {
        "pickle": pickle.dumps({"_user_id": "admin"}),
        "json": b'{"_user_id": "admin"}',
        "list": b"\x91\x01",
    }[kind]
    client.set(PREFIX + sid, value, ex=600)
    signed = app.session_interface._sign(app, sid) if app.session_interface.use_signer else sid
    return f"{sid} {signed}"


@app.get("/cleanup")
def cleanup():
    """Deletes this run's keys (the shared Redis keeps nothing of the test)."""
    keys = list(client.scan_iter(match=PREFIX + "*", count=1000))
    if keys:
        client.delete(*keys)
    return str(len(keys))


server = make_server("127.0.0.1", 0, app, threaded=True)
print(f"flask listening on http://127.0.0.1:{server.port}", flush=True)
server.serve_forever()
