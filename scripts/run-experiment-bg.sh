#!/usr/bin/env bash
# Runs (or resumes) an experiment in the background, detached from the shell, logging to OUT.log:
#   bash scripts/run-experiment-bg.sh experiments/scifact-smollm2-minilm.json .cache/runs/scifact-smollm2-minilm [OPTIONS]
# (OPTIONS go to `expandr experiment`, e.g. --generations experiments/scifact-smollm2-minilm/generations.jsonl.gz)
# The run resumes at the stage it was in when it is started again with the same config and folder.
set -euo pipefail
config=$1 out=$2
shift 2
mkdir -p "$out"
cd "$(dirname "$0")/.."
setsid nohup npm run -s expandr -- experiment --config "$config" --out "$out" "$@" >> "$out.log" 2>&1 < /dev/null &
echo "started: tail -f $out.log"
