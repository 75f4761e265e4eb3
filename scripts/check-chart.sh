#!/usr/bin/env bash
# Checks charts/shop end to end, as CI does after `cargo test`:
#  1. `helm lint --strict` and rendering with Helm's own SDK (PyPI helm-python-sdk), offline;
#  2. the rendered manifests against the Kubernetes 1.32 JSON schemas (PyPI kubernetes-validate);
#  3. the `helm template` output loaded as it is into kai's sandbox, and `kai health` gating it:
#     the default values are healthy (exit 0), each fault switch fails with its reason (exit 1);
#  4. a real Helm v4 release of the chart against `kai sandbox` through the same SDK, with Helm's
#     defaults (server-side apply, release Secrets sent as protobuf): install, upgrade, history,
#     rollback, uninstall (scripts/helm-release.py).
# Needs python3 and PyPI; installs both packages into a virtual environment under target/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${HELM_VENV:-$ROOT/target/helm-venv}
if [ ! -x "$VENV/bin/kubernetes-validate" ] || ! "$VENV/bin/python" -c "import helm_python" 2>/dev/null; then
  echo "chart: installing helm-python-sdk and kubernetes-validate into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check helm-python-sdk kubernetes-validate
fi
cargo build --quiet -p kai --bin kai
KAI=${CARGO_TARGET_DIR:-$ROOT/target}/debug/kai
WORK=$(mktemp -d)
SANDBOX_PID=
trap '[ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

render() { # render NAME [KEY=VALUE...]: helm template output in $WORK/NAME.yaml, plus a sandbox copy
  local name=$1; shift
  "$VENV/bin/python" scripts/render-chart.py charts/shop shop demo "$@" > "$WORK/$name.yaml"
  "$VENV/bin/kubernetes-validate" -k 1.32.0 --strict --quiet "$WORK/$name.yaml"
  # As `helm install -n shop`: the sandbox puts objects that name no namespace into `shop`.
  { printf 'apiVersion: sandbox.kai.dev/v1\nkind: Settings\nspec: {namespace: shop}\n---\n'; cat "$WORK/$name.yaml"; } > "$WORK/$name.sandbox.yaml"
}

expect() { # expect NAME EXIT [REASON WORKLOAD]: kai health on the sandbox copy of NAME
  local name=$1 want=$2 reason=${3:-} workload=${4:-} code=0
  "$KAI" --sandbox "$WORK/$name.sandbox.yaml" health -n shop --wait "${WAIT:-20s}" --format json \
    > "$WORK/$name.json" 2> "$WORK/$name.err" || code=$?
  if [ "$code" != "$want" ]; then
    echo "chart: $name: kai health exited $code, expected $want" >&2
    cat "$WORK/$name.json" "$WORK/$name.err" >&2
    exit 1
  fi
  if [ -n "$reason" ]; then
    "$VENV/bin/python" - "$WORK/$name.json" "$reason" "$workload" <<'PY'
import json, sys
doc, reason, workload = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
found = [f for c in doc["clusters"] for f in c["findings"]]
if not any(f["reason"] == reason and f["name"] == workload for f in found):
    sys.exit(f"chart: expected {reason} on {workload}, found {[(f['reason'], f['name']) for f in found]}")
PY
  fi
  echo "chart: $name: kai health exit $code ${reason:+($reason on $workload)}"
}

render healthy
expect healthy 0
render missing-secret faults.missingSecret=true
WAIT=5s expect missing-secret 1 CreateContainerConfigError demo-backend
render unschedulable faults.unschedulable=true
WAIT=5s expect unschedulable 1 Unschedulable demo-backend
render selector faults.serviceSelector=true
WAIT=5s expect selector 1 SelectorMismatch demo-backend
# 4. Helm v4 against a running sandbox.
"$KAI" sandbox healthy --write-kubeconfig "$WORK/kubeconfig" > "$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 1 100); do
  [ -s "$WORK/kubeconfig" ] && break
  kill -0 "$SANDBOX_PID" 2>/dev/null || { cat "$WORK/sandbox.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$WORK/kubeconfig" ] || { echo "chart: kai sandbox wrote no kubeconfig" >&2; cat "$WORK/sandbox.log" >&2; exit 1; }
"$VENV/bin/python" scripts/helm-release.py "$WORK/kubeconfig" charts/shop shop demo
echo "chart: ok"
