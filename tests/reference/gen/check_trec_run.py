"""Evaluates a TREC run file (what `expandr eval --run FILE` wrote) with pytrec_eval, as BEIR does.

    python check_trec_run.py RUN_FILE QRELS_TSV      (RUN_FILE may be gzipped: NAME.gz)

QRELS_TSV: BEIR's qrels/<split>.tsv (query-id, corpus-id, score with a header line).
BEIR's EvaluateRetrieval.evaluate: ignore_identical_ids drops hits whose doc id equals the query id, then
pytrec_eval.RelevanceEvaluator(qrels, {ndcg_cut.10, recall.100, map_cut.100, recip_rank}) per query and the
plain mean over the queries it returns. MRR@10 (not a trec_eval measure) is recip_rank on the run cut at
10 in trec_eval's order (score descending, then doc id descending), as src/eval/metrics.ts defines it.

Prints one JSON line {"queries", "identical_ids_dropped", "ndcg@10", "recall@100", "mrr@10", "map@100"}.
Runs with pytrec-eval-terrier 0.5.11 (.cache/venv-interop or .cache/venv).
"""

import csv
import gzip
import json
import sys
from collections import defaultdict

import pytrec_eval


def main() -> None:
    run_path, qrels_path = sys.argv[1], sys.argv[2]
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with open(qrels_path, newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for qid, did, rel in reader:
            qrels[qid][did] = int(rel)
    run: dict[str, dict[str, float]] = defaultdict(dict)
    dropped = 0
    opener = gzip.open if run_path.endswith(".gz") else open
    with opener(run_path, "rt") as f:
        for line in f:
            qid, _q0, did, _rank, score, _tag = line.split()
            if qid == did:  # BEIR's ignore_identical_ids
                dropped += 1
                continue
            run[qid][did] = float(score)
    scores = pytrec_eval.RelevanceEvaluator(dict(qrels), {"ndcg_cut.10", "recall.100", "map_cut.100"}).evaluate(dict(run))
    # recip_rank on the run cut at 10, in trec_eval's order.
    cut = {
        qid: dict(sorted(hits.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:10])
        for qid, hits in run.items()
    }
    rr = pytrec_eval.RelevanceEvaluator(dict(qrels), {"recip_rank"}).evaluate(cut)
    n = len(scores)
    mean = lambda key, table: sum(v[key] for v in table.values()) / len(table)
    print(json.dumps({
        "queries": n,
        "identical_ids_dropped": dropped,
        "ndcg@10": mean("ndcg_cut_10", scores),
        "recall@100": mean("recall_100", scores),
        "mrr@10": mean("recip_rank", rr),
        "map@100": mean("map_cut_100", scores),
    }))


if __name__ == "__main__":
    main()
