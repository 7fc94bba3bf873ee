#!/usr/bin/env bash
# Brings an experiment's committed records up to date from its run folder, while it runs or once it has
# finished: the sampled texts (generations.jsonl.gz), the analysis (analysis.md), each trained retriever on
# plain queries (plain-queries.json), the sweep of the query's weight against its expansion
# (expansion-weight.json), and, once results.json is written, the evidence (results.json naming
# its gzipped TREC runs, per-query values, expansions, the interval plots).
#   bash scripts/experiment-records.sh experiments/scifact-smollm2-minilm.json .cache/runs/scifact-smollm2-minilm
# Writes into experiments/NAME/ (NAME: the config's file name); nothing in the run folder changes.
set -euo pipefail
config=$1 run=$2
cd "$(dirname "$0")/.."
name=$(basename "$config" .json)
records=experiments/$name
mkdir -p "$records"
[ -f "$run/run-state.json" ] || { echo "$run has no run-state.json: not an experiment's run folder" >&2; exit 2; }

node scripts/collect-generations.mjs "$records/generations.jsonl.gz" "$run"
npm run -s expandr -- analyze --run "$run" --out "$records/analysis.md"
npx tsx experiments/plain-queries.ts --config "$config" --run "$run" --out "$records/plain-queries.json" > /dev/null
echo "wrote $records/plain-queries.json"
npx tsx experiments/expansion-weight.ts --config "$config" --run "$run" --out "$records/expansion-weight.json" > /dev/null
echo "wrote $records/expansion-weight.json"
if [ -f "$run/results.json" ]; then
  npm run -s expandr -- evidence --run "$run" --out "$records"
else
  echo "no $run/results.json yet (the run has not finished): evidence left as it is"
fi
