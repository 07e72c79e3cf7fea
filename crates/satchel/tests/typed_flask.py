#!/usr/bin/env python3
"""REAL Flask 3.1 on both ends of a typed satchel session, for typed_session.rs.

    typed_flask.py KEY prepare         prints the session cookie a Flask app sets: a flashed
                                       message, Flask-Login's keys, a CSRF token, a tuple, a
                                       counter
    typed_flask.py KEY dump COOKIE     prints, as JSON, {key: repr(value)} of the session Flask
                                       loads from COOKIE

Exit status 3 (message on stderr) when Flask cannot be imported.
"""

import json
import sys

try:
    from flask import Flask, flash, session
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(f"flask unavailable: {e}", file=sys.stderr)
    sys.exit(3)

app = Flask(__name__)
app.secret_key = sys.argv[1]


@app.get("/prepare")
def prepare():
    flash("Welcome back!", "success")
    session["_user_id"] = "42"
    session["_fresh"] = True
    session["csrf_token"] = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    session["cart"] = ("tea", "milk")
    session["counter"] = 5
    return "prepared"


@app.get("/dump")
def dump():
    return json.dumps({key: repr(value) for key, value in session.items()}, sort_keys=True)


def main():
    client = app.test_client()
    mode = sys.argv[2]
    if mode == "prepare":
        response = client.get("/prepare")
        pair = response.headers["Set-Cookie"].split(";", 1)[0]
        print(pair.split("=", 1)[1])
    elif mode == "dump":
        client.set_cookie("session", sys.argv[3])
        print(client.get("/dump").get_data(as_text=True))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
