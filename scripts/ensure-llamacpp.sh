#!/usr/bin/env bash
# Installs llama.cpp for the runner's CPU generation (llm.engine "llama.cpp", `generate --engine llama.cpp`,
# bench/generation.bench.ts): node-llama-cpp@3.21.1 plus only this platform's prebuilt binary
# (@node-llama-cpp/<platform>-<arch>) into .cache/node-llama-cpp (EXPANDR_LLAMACPP_DIR overrides). It is not
# a package.json dependency: its optional CUDA/Vulkan binaries are ~600 MB. An earlier install there is
# reused when it has this version and this platform's binary. Never fails the caller when the registry
# cannot be reached: it says what it skipped and exits 0 (the llama.cpp tests then skip with a message).
set -uo pipefail
cd "$(dirname "$0")/.."

VERSION=3.21.1
DIR="${EXPANDR_LLAMACPP_DIR:-.cache/node-llama-cpp}"
PLATFORM="$(node -p "({darwin: 'mac', win32: 'win'})[process.platform] ?? process.platform")-$(node -p process.arch)"
# macOS arm64 ships as mac-arm64-metal; the CPU is used either way (getLlama({ gpu: false })).
[ "$PLATFORM" = "mac-arm64" ] && PLATFORM="mac-arm64-metal"

installed="$(node -p "try { require(require('path').resolve('$DIR', 'node_modules/node-llama-cpp/package.json')).version } catch { '' }" 2>/dev/null)"
if [ "$installed" = "$VERSION" ] && [ -d "$DIR/node_modules/@node-llama-cpp/$PLATFORM" ]; then
  echo "[llama.cpp] node-llama-cpp $VERSION with @node-llama-cpp/$PLATFORM is present in $DIR"
  exit 0
fi

echo "[llama.cpp] installing node-llama-cpp@$VERSION and @node-llama-cpp/$PLATFORM@$VERSION into $DIR"
mkdir -p "$DIR"
# Exact versions, the platform binary as a direct dependency: --omit=optional then skips the other
# platforms' binaries, --ignore-scripts node-llama-cpp's postinstall (it would look for a GPU build).
cat >"$DIR/package.json" <<JSON
{
  "private": true,
  "description": "llama.cpp for ExpandR's runner (scripts/ensure-llamacpp.sh)",
  "dependencies": {
    "node-llama-cpp": "$VERSION",
    "@node-llama-cpp/$PLATFORM": "$VERSION"
  }
}
JSON
if ! (cd "$DIR" && npm install --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error); then
  echo "[llama.cpp] skipped: npm install failed (registry unreachable? see above); the llama.cpp tests and benchmark rows will skip"
  exit 0
fi
echo "[llama.cpp] installed in $DIR ($(du -sh "$DIR" | cut -f1))"
exit 0
