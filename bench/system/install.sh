#!/bin/bash
# install.sh VENV   (env INSTALLER=pip|uv, UV=path to uv, INSTALL_PYTHON=interpreter): keyproxy from this checkout.
set -euo pipefail
venv=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
if [[ "$INSTALLER" == uv ]]; then
  "$UV" venv -q --python "$INSTALL_PYTHON" "$venv"
  "$UV" pip install -q --python "$venv/bin/python" "$repo"
else
  "$INSTALL_PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --no-cache-dir "$repo"
fi
