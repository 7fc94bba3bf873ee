#!/usr/bin/env bash
# FT of all-MiniLM-L6-v2 on SciFact with every choice made on dev (a seeded 20 % of the train split):
# two learning rates x two checkpoints (after epoch 1 and epoch 2 of a two-epoch schedule), each scored
# on dev; only the chosen one is then scored on test. Resumable: each step is skipped when its output exists.
# Usage: bash experiments/scifact-minilm-ft-dev/run.sh train LR   |   dev LR STEP   |   test LR STEP
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=experiments/scifact-minilm-ft-dev
WORK=.cache/ft-dev
DATA=../shared/data/beir/scifact
BASE=.cache/models/all-MiniLM-L6-v2
DEV="--dev-fraction 0.2 --dev-seed 42"
x() { npm run -s expandr -- "$@"; }
case "$1" in
  train)
    lr=$2
    [ -f "$OUT/train-lr$lr.json" ] && exit 0
    x train-retriever --data $DATA --split train $DEV --encoder $BASE --out $WORK/lr$lr \
      --hard-negatives bm25 --negative-depth 30 --batch 16 --epochs 2 --lr "$lr" --temperature 0.05 \
      --grad-cache-chunk 8 --max-length 128 --seed 42 --snapshot-every 41 --resume --json --quiet \
      | tail -1 > "$OUT/train-lr$lr.json.tmp"
    mv "$OUT/train-lr$lr.json.tmp" "$OUT/train-lr$lr.json" ;;
  raw-dev)
    [ -f "$OUT/dev-raw.json" ] && exit 0
    x eval --data $DATA --split dev $DEV --retriever dense --encoder $BASE --run $WORK/dev-raw.trec --json --quiet | tail -1 > "$OUT/dev-raw.json" ;;
  dev)
    lr=$2; step=$3
    [ -f "$OUT/dev-lr$lr-step$step.json" ] && exit 0
    x eval --data $DATA --split dev $DEV --retriever dense --encoder $WORK/lr$lr/snapshots/step-$step \
      --run $WORK/dev-lr$lr-step$step.trec --json --quiet | tail -1 > "$OUT/dev-lr$lr-step$step.json.tmp"
    mv "$OUT/dev-lr$lr-step$step.json.tmp" "$OUT/dev-lr$lr-step$step.json" ;;
  test)
    lr=$2; step=$3
    x eval --data $DATA --split test --retriever dense --encoder $WORK/lr$lr/snapshots/step-$step \
      --run $WORK/test-ft.trec --compare $WORK/test-raw.trec --json --quiet | tail -1 > "$OUT/test-ft.json"
    awk '$4 <= 100' $WORK/test-ft.trec | gzip -9 > "$OUT/test-ft.top100.trec.gz" ;;
  raw-test)
    x eval --data $DATA --split test --retriever dense --encoder $BASE --run $WORK/test-raw.trec --json --quiet | tail -1 > "$OUT/test-raw.json" ;;
esac
