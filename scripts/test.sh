#!/usr/bin/env bash
# The README's test command. On a fresh machine it does the whole set-up itself, then runs every
# test of the workspace (unit, integration, doc tests) and ends with one summary line:
#
#   - starts Redis, PostgreSQL and MariaDB on 127.0.0.1 when one is installed but down;
#   - installs Chromium and ChromeDriver (Debian packages) for the browser test, when it can
#     (as root, or with sudo that needs no password);
#   - creates a Python venv (.venv) with real Flask and Flask-Login from PyPI.
#
# Every test binary runs even when one fails (--no-fail-fast), and the doc tests run even when
# an integration test failed. Tests whose service or browser is missing print one `skipped:`
# line; with CI set they fail instead. Exit status: 0 when everything passed.
set -uo pipefail
cd "$(dirname "$0")/.."

as_root() {  # runs a set-up command as root when that is possible without asking
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
    else return 1
    fi
}
wait_for() {  # wait_for NAME COMMAND...: bounded (10 s)
    local name=$1; shift
    for _ in $(seq 1 50); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    echo "warning: $name is not answering; its tests will skip (or fail with CI set)" >&2
}

echo "==> services on 127.0.0.1 (Redis, PostgreSQL, MariaDB)"
if command -v redis-server >/dev/null && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
    wait_for redis redis-cli -h 127.0.0.1 ping
fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] \
    && ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    wait_for postgresql pg_isready -h 127.0.0.1 -q
fi
if [ -x /etc/init.d/mariadb ] && ! mysqladmin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
    as_root /etc/init.d/mariadb start
    wait_for mariadb mysqladmin -h 127.0.0.1 -u root ping
fi

if ! (command -v chromium >/dev/null && command -v chromedriver >/dev/null); then
    echo "==> installing chromium and chromium-driver (Debian) for the browser test"
    if command -v apt-get >/dev/null; then
        as_root sh -c 'apt-get update -qq && apt-get install -y -qq chromium chromium-driver' \
            || echo "warning: could not install Chromium; the browser test will skip" >&2
    else
        echo "warning: no apt-get; install Chromium and ChromeDriver for the browser test" >&2
    fi
fi

venv=.venv
if ! "$venv/bin/python" -c 'import flask, itsdangerous, flask_login, flask_session, msgspec, redis' 2>/dev/null; then
    echo "==> creating $venv with Flask for the conformance tests"
    python3 -m venv "$venv" \
        && "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt \
        || { echo "error: could not create the Python venv ($venv)" >&2; exit 1; }
fi
export SATCHEL_PYTHON="$PWD/$venv/bin/python"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
run() {  # run CARGO_ARGS...: keeps going on failure, remembers it, keeps the output for the summary
    echo "==> cargo $*"
    cargo "$@" 2>&1 | tee -a "$log"
    local code=${PIPESTATUS[0]}
    if [ "$code" -ne 0 ]; then
        echo "==> cargo $* exited with $code" | tee -a "$log"
        status=1
    fi
}
# The example programs, as plain binaries: tests/examples.rs runs them end to end.
run build -p satchel-session --examples --all-features
run test --workspace --all-targets --all-features --no-fail-fast
run test --workspace --doc --all-features --no-fail-fast

# One line for the whole run, from cargo's own `test result:` lines.
awk '
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed;?$/) passed += $(i - 1)
            if ($(i) ~ /^failed;?$/) failed += $(i - 1)
            if ($(i) ~ /^ignored;?$/) ignored += $(i - 1)
        }
        binaries++
    }
    /^==> cargo .* exited with/ { broken++ }
    END {
        printf "==> summary: %d passed, %d failed, %d ignored in %d test binaries", passed, failed, ignored, binaries
        if (broken) printf "; %d step(s) failed (see above)", broken
        printf "\n"
    }' "$log"
exit "$status"
