#!/bin/bash
# Writes a .env the way a user would, then runs keyproxy in the foreground.
# env from the harness: PORT STATE_DIR MASTER_KEY UPSTREAM_PLAIN UPSTREAM_STREAM UPSTREAM_KEYS
# KEYPROXY_VENV picks the venv (default: the repository's .venv made by `uv sync`).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$STATE_DIR"
IFS=, read -ra keys <<<"$UPSTREAM_KEYS"
{
  echo "PROXY_API_KEY=$MASTER_KEY"
  echo "BENCHP_API_BASE=$UPSTREAM_PLAIN"
  echo "BENCHS_API_BASE=$UPSTREAM_STREAM"
  for i in "${!keys[@]}"; do
    echo "BENCHP_API_KEY_$((i + 1))=${keys[$i]}"
    echo "BENCHS_API_KEY_$((i + 1))=${keys[$i]}"
  done
} >.env
exec "${KEYPROXY_VENV:-$repo/.venv}/bin/keyproxy" serve --host 127.0.0.1 --port "$PORT" --data-dir "$STATE_DIR/data"
