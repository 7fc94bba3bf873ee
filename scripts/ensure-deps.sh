#!/usr/bin/env bash
# Installs what the project needs when it is missing: npm packages, and (with --browser) Debian chromium.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

export ONNXRUNTIME_NODE_INSTALL=skip  # onnxruntime-node (via transformers.js) must not download binaries
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deps] installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
bash scripts/ensure-llamacpp.sh

if [ "${1:-}" = "--browser" ] && { [ ! -x /usr/bin/chromium ] || ! ldconfig -p | grep -q libvulkan.so.1; }; then
  echo "[deps] installing Debian chromium (for browser tests)"
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends chromium libvulkan1 >/dev/null 2>&1 || {
    $SUDO apt-get update >/dev/null
    $SUDO apt-get install -y --no-install-recommends chromium libvulkan1 >/dev/null
  }
  /usr/bin/chromium --version
fi
