#!/usr/bin/env python3
"""What REAL Flask 3.1's save_session sends, scenario by scenario, for flask_save_rules.rs.

Prints JSON: {"flask": version, "scenarios": [{name, config, steps: [{path, cookie_sent,
set_cookie: [header...], vary: [header...]}]}]}. Each scenario runs its steps against a fresh
Flask app with the scenario's config; a step may send the cookie the previous step set (the
value, sent as `Cookie: session=...`, whatever its Path), as a browser would.

Exit status 3 (message on stderr) when Flask cannot be imported.
"""

import json
import sys

try:
    import flask
    from flask import Flask, session
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(f"flask unavailable: {e}", file=sys.stderr)
    sys.exit(3)

SECRET = sys.argv[1] if len(sys.argv) > 1 else "a long conformance secret key for save rules"


def make_app(config):
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, **config)

    @app.get("/set")
    def set_plain():
        session["n"] = 1
        return "set"

    @app.get("/set_permanent")
    def set_permanent():
        session.permanent = True
        session["n"] = 1
        return "set"

    @app.get("/untouched")
    def untouched():
        return "untouched"

    @app.get("/read")
    def read():
        return str(session.get("n"))

    return app


SCENARIOS = [
    # Rule 1: the cookie's path is APPLICATION_ROOT when SESSION_COOKIE_PATH is not set.
    ("application_root_sets_the_path", {"APPLICATION_ROOT": "/foo"}, ["/set"]),
    ("cookie_path_wins_over_application_root",
     {"APPLICATION_ROOT": "/foo", "SESSION_COOKIE_PATH": "/bar"}, ["/set"]),
    # Rule 2: a permanent session is refreshed on a route that never touches it.
    ("permanent_refreshed_on_untouched_route", {}, ["/set_permanent", "/untouched"]),
    ("permanent_not_refreshed_without_refresh_each_request",
     {"SESSION_REFRESH_EACH_REQUEST": False}, ["/set_permanent", "/untouched"]),
    ("plain_session_untouched_sends_nothing", {}, ["/set", "/untouched"]),
    ("plain_session_read_varies_only", {}, ["/set", "/read"]),
    ("permanent_read_is_refreshed", {}, ["/set_permanent", "/read"]),
]


def run(name, config, paths):
    app = make_app(config)
    client = app.test_client(use_cookies=False)
    cookie, steps = None, []
    for path in paths:
        headers = {"Cookie": f"session={cookie}"} if cookie else {}
        response = client.get(path, headers=headers)
        set_cookie = response.headers.getlist("Set-Cookie")
        steps.append({
            "path": path,
            "cookie_sent": cookie is not None,
            "set_cookie": set_cookie,
            "vary": response.headers.getlist("Vary"),
        })
        for header in set_cookie:
            if header.startswith("session="):
                cookie = header.split(";", 1)[0][len("session="):]
    return {"name": name, "config": config, "steps": steps}


print(json.dumps({
    "flask": flask.__version__ if hasattr(flask, "__version__") else "3",
    "scenarios": [run(*s) for s in SCENARIOS],
}))
