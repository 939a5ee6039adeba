#!/usr/bin/env bash
# No Docker engine or Render here: run the install and start commands that render.yaml and the Dockerfile
# use, in clean copies of the committed tree, and check that the proxy they produce answers; check what
# deploy/compose.yaml names without running it (.ci/compose_check.py).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

git -C "$repo" archive HEAD | tar -x -C "$work"

echo "deploy check: Dockerfile dependency layer (only pyproject.toml and uv.lock present)"
mkdir "$work/deps" && cp "$work/pyproject.toml" "$work/uv.lock" "$work/deps/"
(cd "$work/deps" && uv sync --frozen --no-dev --no-install-project --quiet)

echo "deploy check: render.yaml build and start commands"
build=$(sed -n 's/^ *buildCommand: //p' "$repo/render.yaml")
start=$(sed -n 's/^ *startCommand: //p' "$repo/render.yaml")
cd "$work"
bash -c "${build/pip install uv && /}"  # uv is already installed here; the rest is Render's command as written

echo "deploy check: deploy/compose.yaml (its services, files, command, settings, Redis, health check, nginx)"
.venv/bin/python .ci/compose_check.py deploy/compose.yaml
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT PROXY_API_KEY=deploy-check-key-0123456789 KEYPROXY_DATA_DIR="$work/data"
bash -c "exec $start" &
pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/health"; echo
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PROXY_API_KEY" "http://127.0.0.1:$PORT/v1/models")
[ "$code" = 200 ] || { echo "deploy check: /v1/models answered $code"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/models")
[ "$code" = 401 ] || { echo "deploy check: unauthenticated /v1/models answered $code"; exit 1; }
for asset in ui ui/app.js ui/app.css; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/$asset")
  [ "$code" = 200 ] || { echo "deploy check: /$asset (the dashboard) answered $code"; exit 1; }
done
echo "deploy check: ok ($(du -sm .venv | cut -f1) MB venv)"
