#!/usr/bin/env bash
# The README's test command: installs what the tests need (a Python venv with real Flask for the
# conformance tests), then runs every test of the workspace (unit, integration, doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
if ! "$venv/bin/python" -c 'import flask, itsdangerous, flask_login, flask_session, msgspec, redis' 2>/dev/null; then
  echo "==> creating $venv with Flask for the conformance tests"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
export SATCHEL_PYTHON="$PWD/$venv/bin/python"

# The example programs, as plain binaries: tests/examples.rs runs them end to end.
cargo build -p satchel --examples --all-features
cargo test --workspace --all-targets --all-features --no-fail-fast
cargo test --workspace --doc --all-features
