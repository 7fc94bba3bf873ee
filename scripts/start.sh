#!/usr/bin/env bash
# `npm start`: installs what is missing, builds the app and serves it; prints the URL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx vite build --logLevel warn
PORT="${PORT:-4173}"
echo
echo "ExpandR Web is being served at http://127.0.0.1:${PORT}/  (Ctrl-C stops it)"
exec npx vite preview --port "$PORT" --strictPort
