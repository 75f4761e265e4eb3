#!/usr/bin/env bash
# Checks charts/shop end to end, as CI does after `cargo test`:
#  1. `helm lint --strict` and rendering with Helm's own SDK (PyPI helm-python-sdk), offline;
#  2. the rendered manifests against the Kubernetes 1.32 JSON schemas (PyPI kubernetes-validate);
#  3. the `helm template` output loaded as it is into kai's sandbox, and `kai health` gating it:
#     the default values are healthy (exit 0), each fault switch fails with its reason (exit 1);
#  4. a real Helm v4 release of the chart against `kai sandbox` through the same SDK, with Helm's
#     defaults (server-side apply, release Secrets sent as protobuf): install, upgrade, history,
#     rollback, uninstall (scripts/helm-release.py).
#  5. charts/kai (kai in the cluster): lint strict and render with Helm's SDK, validate against
#     1.32, with remediation off and on; then the rendered objects loaded with the demo shop into
#     `kai sandbox --as serviceaccount:shop:kai-kai`, whose RBAC the sandbox enforces from the
#     chart's ClusterRole and binding: `kai health -A` and `kai watch -A` run without a single
#     Forbidden, a rollback (and a Lease for leader election) without remediation enabled is
#     Forbidden, and with it enabled `kai watch --remediate rollback --leader-elect` leads the
#     Lease, fixes backend and records an Event on it; a Helm release of the chart installs.
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
AS_PID=
trap '[ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null; if [ -n "$AS_PID" ]; then kill "$AS_PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

wait_kubeconfig() { # wait_kubeconfig PATH PID LOG: until a started `kai sandbox` wrote its kubeconfig
  for _ in $(seq 1 100); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; exit 1; }
    sleep 0.1
  done
  echo "chart: kai sandbox wrote no kubeconfig" >&2; cat "$3" >&2; exit 1
}

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
wait_kubeconfig "$WORK/kubeconfig" "$SANDBOX_PID" "$WORK/sandbox.log"
"$VENV/bin/python" scripts/helm-release.py "$WORK/kubeconfig" charts/shop shop demo
"$VENV/bin/python" - "$WORK/kubeconfig" <<'PY'
# charts/kai released with Helm v4's defaults into the running sandbox, then removed.
import json, re, sys, urllib.request
import helm_python
kubeconfig = sys.argv[1]
server = re.search(r"server:\s*(\S+)", open(kubeconfig).read()).group(1)
cfg = helm_python.Config(kubeconfig_path=kubeconfig, namespace="kai")
rel = cfg.install("charts/kai", "kai", {"remediation": {"enabled": True}}, create_namespace=True)
if rel.get("status") != "deployed":
    sys.exit(f"chart: kai: helm install: status {rel.get('status')}")
req = urllib.request.Request(server + "/apis/apps/v1/namespaces/kai/deployments/kai-kai",
                             headers={"Authorization": "Bearer kai-sandbox"})
d = json.load(urllib.request.urlopen(req, timeout=10))
args = d["spec"]["template"]["spec"]["containers"][0]["args"]
if args[:2] != ["watch", "-A"] or "--remediate" not in args:
    sys.exit(f"chart: kai: helm install: unexpected args {args}")
cfg.uninstall("kai")
print("chart: kai: helm install (remediation enabled) deployed kai watch into the sandbox; uninstalled")
PY

# 5. charts/kai: least privilege proven against the sandbox's RBAC.
serve_as() { # serve_as NAME: the demo shop plus the kai chart rendered as NAME, as the chart's ServiceAccount
  local name=$1
  { cat sandbox/scenarios/demo.yaml; echo "---"; cat "$WORK/$name.yaml"; } > "$WORK/$name.scenario.yaml"
  rm -f "$WORK/$name.kc"
  "$KAI" sandbox "$WORK/$name.scenario.yaml" --as serviceaccount:shop:kai-kai \
    --write-kubeconfig "$WORK/$name.kc" > "$WORK/$name.sandbox.log" 2>&1 &
  AS_PID=$!
  wait_kubeconfig "$WORK/$name.kc" "$AS_PID" "$WORK/$name.sandbox.log"
  grep -q "system:serviceaccount:shop:kai-kai (RBAC applies)" "$WORK/$name.sandbox.log" \
    || { echo "chart: $name: the sandbox does not serve as the chart's ServiceAccount" >&2; cat "$WORK/$name.sandbox.log" >&2; exit 1; }
}
kai_as() { # kai_as NAME ARGS...: kai as the chart's ServiceAccount, with a private state directory
  local name=$1; shift
  HOME="$WORK/$name.home" XDG_STATE_HOME="$WORK/$name.home/state" "$KAI" --kubeconfig "$WORK/$name.kc" --timeout 2m "$@"
}
no_forbidden() { # no_forbidden FILE...: fail on any Forbidden in kai's output
  if grep -il "forbidden" "$@"; then
    echo "chart: a Forbidden in the output above, as the chart's ServiceAccount" >&2
    cat "$@" >&2
    exit 1
  fi
}
"$VENV/bin/python" scripts/render-chart.py charts/kai shop kai > "$WORK/kai.yaml"
"$VENV/bin/kubernetes-validate" -k 1.32.0 --strict --quiet "$WORK/kai.yaml"
"$VENV/bin/python" scripts/render-chart.py charts/kai shop kai remediation.enabled=true health.enabled=true > "$WORK/kai-remediate.yaml"
# (Not loaded into the sandbox below: its Secret does not exist there.)
"$VENV/bin/python" scripts/render-chart.py charts/kai shop kai remediation.enabled=true notify.webhookSecret.name=kai-webhook > "$WORK/kai-notify.yaml"
"$VENV/bin/kubernetes-validate" -k 1.32.0 --strict --quiet "$WORK/kai-notify.yaml"
"$VENV/bin/kubernetes-validate" -k 1.32.0 --strict --quiet "$WORK/kai-remediate.yaml"
if grep -Eq "verbs: \[.*(create|update|patch|delete)" "$WORK/kai.yaml"; then
  echo "chart: kai: the default ClusterRole holds a write verb" >&2; exit 1
fi
grep -q "kind: CronJob" "$WORK/kai-remediate.yaml" || { echo "chart: kai: health.enabled renders no CronJob" >&2; exit 1; }
# Leader election comes with remediation only: a Role on leases in the release namespace.
grep -q "leases" "$WORK/kai.yaml" && { echo "chart: kai: the read-only chart grants leases" >&2; exit 1; }
grep -q -- "--record-events" "$WORK/kai-remediate.yaml" && grep -q "KAI_WATCH_WEBHOOK" "$WORK/kai-notify.yaml" \
  || { echo "chart: kai: remediation renders no --record-events or no webhook from its Secret" >&2; exit 1; }
grep -q -- "--leader-elect" "$WORK/kai-remediate.yaml" && grep -q "resources: \[leases\]" "$WORK/kai-remediate.yaml" \
  || { echo "chart: kai: remediation renders no leader election or no lease Role" >&2; exit 1; }
if "$VENV/bin/python" scripts/render-chart.py charts/kai shop kai remediation.enabled=true replicas=2 leaderElection.enabled=false > /dev/null 2> "$WORK/kai.two.err" \
  || ! grep -q "needs leaderElection.enabled" "$WORK/kai.two.err"; then
  echo "chart: kai: two remediating replicas without leader election were not refused" >&2; cat "$WORK/kai.two.err" >&2; exit 1
fi
"$VENV/bin/python" scripts/render-chart.py charts/kai shop kai remediation.enabled=true replicas=2 > /dev/null
echo "chart: kai: lint strict, rendered and valid against 1.32 (read-only, and with remediation)"

serve_as kai
code=0; kai_as kai health -A --format json > "$WORK/kai.health.json" 2> "$WORK/kai.health.err" || code=$?
[ "$code" = 1 ] || { echo "chart: kai health as the ServiceAccount exited $code, expected 1 (backend crashes)" >&2; cat "$WORK/kai.health.err" >&2; exit 1; }
"$VENV/bin/python" - "$WORK/kai.health.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
missed = [n for c in doc["clusters"] for n in c["not_checked"]]
if missed:
    sys.exit(f"chart: kai health as the ServiceAccount could not check: {missed}")
PY
kai_as kai watch -A --output json --exit-after 1 > "$WORK/kai.watch.json" 2> "$WORK/kai.watch.err"
grep -q '"event":"synced"' "$WORK/kai.watch.json" || { echo "chart: kai watch never synced" >&2; cat "$WORK/kai.watch.json" "$WORK/kai.watch.err" >&2; exit 1; }
no_forbidden "$WORK/kai.health.json" "$WORK/kai.health.err" "$WORK/kai.watch.json" "$WORK/kai.watch.err"
echo "chart: kai: health -A and watch -A as serviceaccount:shop:kai-kai: no Forbidden"
kai_as kai watch -n shop --remediate rollback --yes --output json --exit-after 1 > "$WORK/kai.denied.json" 2>&1
grep -q '"result":"failed".*forbidden: cannot patch deployments\|forbidden: cannot patch deployments.*"result":"failed"' "$WORK/kai.denied.json" \
  || { echo "chart: kai: a rollback without remediation enabled was not Forbidden" >&2; cat "$WORK/kai.denied.json" >&2; exit 1; }
echo "chart: kai: a rollback without remediation enabled is Forbidden"
code=0; kai_as kai watch -n shop --leader-elect --lease-namespace shop --exit-after 1 > /dev/null 2> "$WORK/kai.lease.err" || code=$?
[ "$code" != 0 ] && grep -q "forbidden: cannot create or get leases" "$WORK/kai.lease.err" \
  || { echo "chart: kai: leader election without remediation enabled was not Forbidden (exit $code)" >&2; cat "$WORK/kai.lease.err" >&2; exit 1; }
echo "chart: kai: leader election without remediation enabled is Forbidden (no lease verbs)"
kill "$AS_PID"; wait "$AS_PID" 2>/dev/null || true; AS_PID=

serve_as kai-remediate
kai_as kai-remediate watch -n shop --remediate rollback --yes --output json --until-resolved \
  --leader-elect --lease-name kai-kai --lease-namespace shop --record-events \
  > "$WORK/kai.fixed.json" 2> "$WORK/kai.fixed.err" \
  || { echo "chart: kai watch --remediate rollback as the ServiceAccount failed" >&2; cat "$WORK/kai.fixed.json" "$WORK/kai.fixed.err" >&2; exit 1; }
grep -q '"result":"ok"' "$WORK/kai.fixed.json" || { echo "chart: kai: no rollback with remediation enabled" >&2; cat "$WORK/kai.fixed.json" >&2; exit 1; }
grep -q '"leader":true' "$WORK/kai.fixed.json" || { echo "chart: kai: the watch never led the Lease" >&2; cat "$WORK/kai.fixed.json" >&2; exit 1; }
grep -q '"record_failed"' "$WORK/kai.fixed.json" && { echo "chart: kai: the rollback's Event was not recorded" >&2; cat "$WORK/kai.fixed.json" >&2; exit 1; }
no_forbidden "$WORK/kai.fixed.json"
echo "chart: kai: with remediation enabled, kai watch rolled backend back and saw it resolved"
kill "$AS_PID"; wait "$AS_PID" 2>/dev/null || true; AS_PID=
echo "chart: ok"
