#!/bin/bash
repo=$(cd "$(dirname "$0")/../.." && pwd)
echo "keyproxy $("${KEYPROXY_VENV:-$repo/.venv}/bin/keyproxy" --version | cut -d' ' -f2) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
