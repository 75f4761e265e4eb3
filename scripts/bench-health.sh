#!/usr/bin/env bash
# Benchmark (not a test): `kai health -A` (full diagnosis) on the sandbox's generated clusters of
# 10k, 50k and 100k pods, beside `kubectl get pods -A -o json` (a plain listing, its runs bounded
# by a timeout), with kai's peak RSS, the sandbox's load time and memory, and the bytes kai sends a
# model in one investigation (a scripted endpoint asks for `diagnose -A`) next to the raw
# kubectl output's bytes; also on the `demo` scenario. Medians of RUNS runs; prints the load.
#
# Targets (issue 13): 50k time <= 5.5x the 10k time; 100k <= 3 s; kai peak RSS <= 80 MB at 10k
# and <= 200 MB at 100k; kai/kubectl <= 0.1 at every size; the sandbox holds 100k pods in
# <= 1.5 GB and loads them in <= 10 s.
#
#   scripts/bench-health.sh                         # builds release; 10000 50000 100000 pods
#   SIZES="2000 10000" RUNS=3 scripts/bench-health.sh
#   KAI_BIN=target/release/kai KUBECTL_RUNS=1 KUBECTL_TIMEOUT=60 scripts/bench-health.sh
set -euo pipefail
trap 'echo "bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

SIZES=${SIZES:-"10000 50000 100000"}
RUNS=${RUNS:-5}
KUBECTL_RUNS=${KUBECTL_RUNS:-3}
KUBECTL_TIMEOUT=${KUBECTL_TIMEOUT:-180}
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
stop_sandbox() {
  if [ -n "$SANDBOX_PID" ]; then kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
  SANDBOX_PID=""
}
cleanup() { stop_sandbox; rm -rf "$WORK"; }
trap cleanup EXIT

now_ms() { date +%s%3N; }
kib_of() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Starts `kai sandbox ARGS...`; sets SANDBOX_PID, KUBECONFIG and LOAD_MS (start to first answer).
start_sandbox() {
  local start ready=""
  rm -f "$WORK/kubeconfig"
  start=$(now_ms)
  "$KAI_BIN" sandbox "$@" --write-kubeconfig "$WORK/kubeconfig" >"$WORK/sandbox.log" 2>&1 &
  SANDBOX_PID=$!
  for _ in $(seq 1 6000); do
    if [ -s "$WORK/kubeconfig" ] && "$KUBECTL" --kubeconfig "$WORK/kubeconfig" get --raw /version >/dev/null 2>&1; then
      ready=1; break
    fi
    if ! kill -0 "$SANDBOX_PID" 2>/dev/null; then
      echo "bench: the sandbox exited:" >&2; cat "$WORK/sandbox.log" >&2; exit 2
    fi
    sleep 0.05
  done
  [ -n "$ready" ] || { echo "bench: the sandbox did not come up in 300s" >&2; exit 2; }
  LOAD_MS=$(( $(now_ms) - start ))
  export KUBECONFIG=$WORK/kubeconfig
}

# Runs a command, prints "<milliseconds> <peak RSS in KiB> <exit code>".
measure() {
  local start end rc=0
  start=$(now_ms)
  /usr/bin/time -f %M -o "$WORK/rss.out" "$@" >/dev/null 2>&1 || rc=$?
  end=$(now_ms)
  echo "$((end - start)) $(tail -n1 "$WORK/rss.out" | grep -Eo '^[0-9]+$' || echo 0) $rc"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
mb() { echo $(( $1 / 1024 )); }

# Bytes a model is sent in one investigation, and the raw listing's bytes, for the cluster up now.
model_bytes() {
  local raw
  raw=$(timeout "$KUBECTL_TIMEOUT" "$KUBECTL" get pods,events -A -o json 2>/dev/null | wc -c || true)
  echo "  model:  $(python3 "$ROOT/scripts/bench-model-bytes.py" "$KAI_BIN"); raw kubectl get pods,events -A -o json: ${raw} bytes"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores, shared)"
echo "== demo"
start_sandbox demo
model_bytes
stop_sandbox

declare -A TIME RSS KUBE SBX_LOAD SBX_PEAK
for PODS in $SIZES; do
  echo "== $PODS pods"
  start_sandbox --generate-pods "$PODS"
  echo "  sandbox: loaded and answering in ${LOAD_MS} ms, RSS $(mb "$(kib_of "$SANDBOX_PID" VmRSS)") MB (peak $(mb "$(kib_of "$SANDBOX_PID" VmHWM)") MB)"
  SBX_LOAD[$PODS]=$LOAD_MS
  read -r ms _ _ < <(measure "$KUBECTL" get --raw /api/v1/pods)
  echo "  sandbox: one unpaged list of all pods (kubectl get --raw /api/v1/pods): ${ms} ms"
  CACHE=$WORK/kube-cache
  "$KUBECTL" --cache-dir "$CACHE" get --raw /api >/dev/null
  "$KAI_BIN" health -A --format json >/dev/null 2>&1 || true   # warm-up, not counted
  : >"$WORK/kubectl.times"; : >"$WORK/kai.times"; : >"$WORK/kai.rss"
  for i in $(seq 1 "$RUNS"); do
    read -r ms rss _ < <(measure "$KAI_BIN" health -A --format json)
    echo "$ms" >>"$WORK/kai.times"; echo "$rss" >>"$WORK/kai.rss"
    echo "  run $i: kai health $ms ms, peak RSS $(mb "$rss") MB" >&2
  done
  for i in $(seq 1 "$KUBECTL_RUNS"); do
    read -r ms _ rc < <(measure timeout "$KUBECTL_TIMEOUT" "$KUBECTL" --cache-dir "$CACHE" get pods -A -o json)
    if [ "$rc" = 124 ]; then ms=$((KUBECTL_TIMEOUT * 1000)); echo "  kubectl run $i: over ${KUBECTL_TIMEOUT}s (stopped)" >&2
    else echo "  kubectl run $i: $ms ms" >&2; fi
    echo "$ms" >>"$WORK/kubectl.times"
  done
  H=$(median <"$WORK/kai.times"); K=$(median <"$WORK/kubectl.times"); R=$(sort -n "$WORK/kai.rss" | tail -n1)
  TIME[$PODS]=$H; RSS[$PODS]=$R; KUBE[$PODS]=$K
  FINDINGS=$("$KAI_BIN" health -A --format json 2>/dev/null | grep -c '"reason"' || true)
  echo "  kai health -A --format json: median ${H} ms, peak RSS $(mb "$R") MB ($FINDINGS findings)"
  echo "  kubectl get pods -A -o json: median ${K} ms$([ "$K" -ge $((KUBECTL_TIMEOUT * 1000)) ] && echo " (or more: runs stopped at ${KUBECTL_TIMEOUT}s)")"
  awk -v h="$H" -v k="$K" 'BEGIN { printf "  ratio kai/kubectl: %.3f (target <= 0.1)\n", h / k }'
  model_bytes
  SBX_PEAK[$PODS]=$(kib_of "$SANDBOX_PID" VmHWM)
  echo "  sandbox: peak RSS $(mb "${SBX_PEAK[$PODS]}") MB after serving"
  stop_sandbox
done

echo "== targets"
if [ -n "${TIME[10000]:-}" ] && [ -n "${TIME[50000]:-}" ]; then
  awk -v a="${TIME[10000]}" -v b="${TIME[50000]}" 'BEGIN { printf "50k/10k time: %.2fx (target <= 5.5x)\n", b / a }'
fi
[ -n "${TIME[100000]:-}" ] && echo "100k time: ${TIME[100000]} ms (target <= 3000 ms)"
[ -n "${RSS[10000]:-}" ] && echo "10k peak RSS: $(mb "${RSS[10000]}") MB (target <= 80 MB)"
[ -n "${RSS[100000]:-}" ] && echo "100k peak RSS: $(mb "${RSS[100000]}") MB (target <= 200 MB)"
[ -n "${SBX_LOAD[100000]:-}" ] && echo "100k sandbox load: ${SBX_LOAD[100000]} ms (target <= 10000 ms)"
[ -n "${SBX_PEAK[100000]:-}" ] && echo "100k sandbox peak RSS: $(mb "${SBX_PEAK[100000]}") MB (target <= 1536 MB)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
