#!/usr/bin/env bash
# Benchmark (not a test): `kai health -A` (full diagnosis) against `kubectl get pods -A -o json`
# (a plain listing) on the sandbox's generated cluster. Prints the median wall time of each,
# their ratio and kai's peak RSS. Targets: ratio <= 1.5, peak RSS < 150 MB.
#
#   scripts/bench-health.sh                 # builds release, 10000 pods, 5 runs each
#   PODS=2000 RUNS=3 scripts/bench-health.sh
#   KAI_BIN=target/debug/kai scripts/bench-health.sh   # use an existing binary, skip the build
set -euo pipefail
trap 'echo "bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

PODS=${PODS:-10000}
RUNS=${RUNS:-5}
KUBECTL=${KUBECTL:-kubectl}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

if [ -z "${KAI_BIN:-}" ]; then
  echo "building kai (release)..." >&2
  cargo build --quiet --release -p kai --bin kai --manifest-path "$ROOT/Cargo.toml"
  KAI_BIN=$TARGET/release/kai
fi
command -v "$KUBECTL" >/dev/null || { echo "bench: $KUBECTL not found" >&2; exit 2; }

WORK=$(mktemp -d)
SANDBOX_PID=""
cleanup() {
  if [ -n "$SANDBOX_PID" ]; then kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "starting a sandbox with $PODS pods..." >&2
"$KAI_BIN" sandbox --generate-pods "$PODS" --write-kubeconfig "$WORK/kubeconfig" >"$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
READY=""
for _ in $(seq 1 3000); do
  if [ -s "$WORK/kubeconfig" ] && "$KUBECTL" --kubeconfig "$WORK/kubeconfig" get --raw /version >/dev/null 2>&1; then
    READY=1
    break
  fi
  if ! kill -0 "$SANDBOX_PID" 2>/dev/null; then
    echo "bench: the sandbox exited:" >&2; cat "$WORK/sandbox.log" >&2; exit 2
  fi
  sleep 0.1
done
[ -n "$READY" ] || { echo "bench: the sandbox did not come up in 300s" >&2; exit 2; }
echo "sandbox ready" >&2
export KUBECONFIG=$WORK/kubeconfig

now_ms() { date +%s%3N; }

# Runs a command, prints "<milliseconds> <peak RSS in KiB>".
measure() {
  local start end rss
  start=$(now_ms)
  if /usr/bin/time -f %M true >/dev/null 2>&1; then
    /usr/bin/time -f %M -o "$WORK/rss.out" "$@" >/dev/null 2>&1 || true
    rss=$(tail -n1 "$WORK/rss.out")
  else
    # No GNU time: sample VmHWM from /proc while the command runs.
    "$@" >/dev/null 2>&1 &
    local pid=$! hwm=0 v
    while kill -0 "$pid" 2>/dev/null; do
      v=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
      [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
      sleep 0.01
    done
    wait "$pid" || true
    rss=$hwm
  fi
  end=$(now_ms)
  echo "$((end - start)) $rss"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

CACHE=$WORK/kube-cache
# Warm-up (discovery cache, page cache) for both, not counted.
"$KUBECTL" --cache-dir "$CACHE" get pods -A -o json >/dev/null
"$KAI_BIN" health -A --format json >/dev/null || true

: >"$WORK/kubectl.times"; : >"$WORK/kai.times"; : >"$WORK/kai.rss"
for i in $(seq 1 "$RUNS"); do
  read -r ms _ < <(measure "$KUBECTL" --cache-dir "$CACHE" get pods -A -o json)
  echo "$ms" >>"$WORK/kubectl.times"
  read -r ms rss < <(measure "$KAI_BIN" health -A --format json)
  echo "$ms" >>"$WORK/kai.times"; echo "$rss" >>"$WORK/kai.rss"
  echo "run $i: kubectl $(tail -n1 "$WORK/kubectl.times") ms, kai health $ms ms, kai peak RSS $((rss / 1024)) MB" >&2
done

K=$(median <"$WORK/kubectl.times")
H=$(median <"$WORK/kai.times")
R=$(sort -n "$WORK/kai.rss" | tail -n1)
FINDINGS=$("$KAI_BIN" health -A --format json 2>/dev/null | grep -c '"reason"' || true)
echo "pods:                          $PODS"
echo "runs:                          $RUNS"
echo "kubectl get pods -A -o json:   median ${K} ms"
echo "kai health -A --format json:   median ${H} ms  ($FINDINGS findings)"
awk -v h="$H" -v k="$K" 'BEGIN { printf "ratio kai/kubectl:             %.2f (target <= 1.5)\n", h / k }'
echo "kai peak RSS:                  $((R / 1024)) MB (target < 150 MB)"
