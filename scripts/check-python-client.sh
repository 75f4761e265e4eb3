#!/usr/bin/env bash
# Reads every object of every built-in scenario with the official Python client (PyPI
# `kubernetes`), whose typed models fail on malformed objects. Installs the client into a
# virtual environment under target/; starts `kai sandbox` per scenario on a free port.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${PYCLIENT_VENV:-$ROOT/target/pyclient-venv}
if ! "$VENV/bin/python" -c "import kubernetes" 2>/dev/null; then
  echo "python client: installing kubernetes into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check kubernetes
fi
cargo build --quiet -p kai --bin kai
KAI=${CARGO_TARGET_DIR:-$ROOT/target}/debug/kai
WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

for scenario in $("$KAI" sandbox --list | awk '{print $1}'); do
  kc="$WORK/$scenario.kubeconfig"
  "$KAI" sandbox "$scenario" --write-kubeconfig "$kc" > "$WORK/$scenario.out" 2>&1 &
  PID=$!
  # The kubeconfig is written once the server listens; bounded wait.
  for _ in $(seq 1 300); do
    [ -s "$kc" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/$scenario.out" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$kc" ] || { echo "python client: $scenario: the sandbox did not start" >&2; exit 1; }
  echo "python client: scenario $scenario"
  "$VENV/bin/python" scripts/read-all-kinds.py "$kc"
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  PID=
done
echo "python client: ok"
