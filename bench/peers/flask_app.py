"""Benchmark peer: the seed's session routes on Flask 3.1.

    SECRET_KEY=k gunicorn -w 2 -b 127.0.0.1:5101 flask_app:app                 # cookie sessions
    SESSION_TYPE=redis REDIS_URL=redis://127.0.0.1:6390 SECRET_KEY=k gunicorn …  # Flask-Session
    SESSION_TYPE=sqlalchemy DATABASE_URL=postgresql+psycopg://… SESSION_TABLE=t …  # on PostgreSQL

/counter is the read-modify-write, /get_session the read, /healthz touches no session.
"""

import os

from flask import Flask, session

app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]

if os.environ.get("SESSION_TYPE") == "redis":
    import redis
    from flask_session import Session

    app.config["SESSION_TYPE"] = "redis"
    app.config["SESSION_REDIS"] = redis.from_url(os.environ["REDIS_URL"])
    Session(app)
elif os.environ.get("SESSION_TYPE") == "sqlalchemy":
    from flask_session import Session
    from flask_sqlalchemy import SQLAlchemy

    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config["SESSION_TYPE"] = "sqlalchemy"
    app.config["SESSION_SQLALCHEMY"] = SQLAlchemy(app)
    app.config["SESSION_SQLALCHEMY_TABLE"] = os.environ.get("SESSION_TABLE", "sessions")
    # Flask-Session creates its table in every worker at import; two gunicorn workers racing
    # CREATE TABLE on PostgreSQL collide in pg_type (a UniqueViolation kills a worker), so the
    # workers take turns behind an advisory lock.
    with app.app_context():
        with app.config["SESSION_SQLALCHEMY"].engine.connect() as lock:
            lock.exec_driver_sql("SELECT pg_advisory_lock(hashtext('flask-session-peer'))")
            Session(app)
            lock.exec_driver_sql("SELECT pg_advisory_unlock(hashtext('flask-session-peer'))")


@app.route("/healthz")
def healthz():
    return "ok"


@app.route("/set_session")
def set_session():
    session["username"] = "Kimi"
    session["age"] = 25
    return "Session data set!"


@app.route("/get_session")
def get_session():
    return f"Hello, {session.get('username', 'Guest')}! Your age is {session.get('age', 0)}."


@app.route("/counter")
def counter():
    session["n"] = session.get("n", 0) + 1
    return str(session["n"])
