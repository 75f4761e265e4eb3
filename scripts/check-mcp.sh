#!/usr/bin/env bash
# Drives `kai mcp` with the reference MCP client (PyPI `mcp`): stdio and streamable HTTP,
# reads, writes, elicitation, progress, cancellation, prompt, resources, secret canaries.
# Installs the client into a virtual environment under target/ (cached between runs).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${MCP_VENV:-$ROOT/target/mcp-venv}
if ! "$VENV/bin/python" -c "import mcp.client.stdio" 2>/dev/null; then
  echo "mcp client: installing mcp into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "mcp>=2.3,<3"
fi
cargo build --quiet -p kai --bin kai
KAI=${CARGO_TARGET_DIR:-$ROOT/target}/debug/kai
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$VENV/bin/python" scripts/mcp-client.py "$KAI" "$WORK"
