"""Writes tests/reference/fixtures/eval-pytrec.json: metric values from pytrec_eval (trec_eval 9) and
p-values from scipy for crafted inputs, read by tests/reference/eval-pytrec.test.ts.

Run from the project root:
    .cache/venv/bin/pip install -r tests/reference/requirements.txt
    .cache/venv/bin/python tests/reference/gen/eval_fixtures.py

Everything is deterministic (fixed seeds); re-running rewrites the same file.
"""

import json
import math
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytrec_eval
import scipy
from scipy import stats

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tests/reference/fixtures/eval-pytrec.json"
SCIFACT_QRELS = ROOT.parent / "shared/data/beir/scifact/qrels/test.tsv"

MEASURES = {"ndcg_cut.10,100", "recall.100", "map_cut.100", "P.10", "recip_rank"}
# pytrec_eval output key -> our metric key ('mrr' = recip_rank without a cut).
KEYS = {
    "ndcg_cut_10": "ndcg@10",
    "ndcg_cut_100": "ndcg@100",
    "recall_100": "recall@100",
    "map_cut_100": "map@100",
    "P_10": "p@10",
    "recip_rank": "mrr",
}
METRICS = list(KEYS.values()) + ["mrr@10"]

_flushes = 0


def flush_pytrec_cache():
    """trec_eval caches the last query's ranking in a static keyed by qid string, across evaluators and
    evaluate() calls: evaluating the same qid next (with other data) silently reuses stale values.
    Evaluating a never-used qid in between clears it."""
    global _flushes
    _flushes += 1
    qid = f"__flush_{_flushes}__"
    pytrec_eval.RelevanceEvaluator({qid: {"x": 1}}, {"recip_rank"}).evaluate({qid: {"x": 1.0}})


def beir_pop_identical(run):
    """BEIR EvaluateRetrieval.evaluate(ignore_identical_ids=True): removes hits whose doc id == query id."""
    return {qid: {d: s for d, s in hits.items() if d != qid} for qid, hits in run.items()}


def pytrec(qrels, run):
    flush_pytrec_cache()
    scores = pytrec_eval.RelevanceEvaluator(qrels, MEASURES).evaluate(run)
    per_query = {}
    for qid, vals in scores.items():
        row = {KEYS[k]: v for k, v in vals.items()}
        # MRR@10 = recip_rank when the first relevant doc is at rank <= 10, else 0 (recip_rank = 1/rank).
        row["mrr@10"] = vals["recip_rank"] if vals["recip_rank"] >= 1.0 / 10 else 0.0
        per_query[qid] = row
    n = len(per_query)
    # BEIR's mean: sum over the queries pytrec_eval returned, divided by their number.
    mean = {m: (sum(r[m] for r in per_query.values()) / n if n else None) for m in METRICS}
    return {"perQuery": per_query, "mean": mean, "queries": n}


def beir_mrr10(qrels, run):
    """BEIR's own MRR@k (beir/retrieval/custom_metrics.py, function `mrr`), restated here for k = 10:
    per query, hits sorted by score only (Python's stable sort, reverse=True: ties keep insertion order),
    reciprocal rank of the first doc with qrel > 0 in the top k; the sum is divided by len(qrels), i.e.
    by every query in the qrels, evaluated or not, and BEIR rounds it to 5 decimals (not done here).
    BEIR raises KeyError for a run query without qrels; here such queries are skipped."""
    per_query = {}
    for qid, hits in run.items():
        if qid not in qrels:
            continue
        relevant = {d for d, r in qrels[qid].items() if r > 0}
        top = sorted(hits.items(), key=lambda item: item[1], reverse=True)[:10]
        per_query[qid] = next((1.0 / (i + 1) for i, (d, _) in enumerate(top) if d in relevant), 0.0)
    # Queries whose BEIR order can differ from trec_eval's: some score tie (as float32) among the hits.
    tie_free = [q for q in per_query if len({float(np.float32(s)) for s in run[q].values()}) == len(run[q])]
    return {"perQuery": per_query, "mean": sum(per_query.values()) / len(qrels), "qrelsQueries": len(qrels), "tieFree": tie_free}


def case(name, description, qrels, run, ignore_identical_ids=True):
    """run: {qid: [(docid, score), ...]} in the order a retriever would emit."""
    as_dict = {q: {d: float(s) for d, s in hits} for q, hits in run.items()}
    evaluated = beir_pop_identical(as_dict) if ignore_identical_ids else as_dict
    return {
        "name": name,
        "description": description,
        "ignoreIdenticalIds": ignore_identical_ids,
        "qrels": qrels,
        "run": {q: [[d, float(s)] for d, s in hits] for q, hits in run.items()},
        "expected": pytrec(qrels, evaluated),
        "beirMrr10": beir_mrr10(qrels, evaluated),
    }


def crafted_cases():
    out = []
    out.append(case(
        "graded-ties",
        "graded qrels 0-3, several score ties broken by doc id descending",
        {"q1": {"a": 3, "b": 2, "c": 1, "d": 0, "e": 2, "z": 1}},
        {"q1": [("c", 5.0), ("a", 5.0), ("d", 4.0), ("b", 3.0), ("x", 3.0), ("y", 3.0), ("e", 1.0)]},
    ))
    out.append(case(
        "docid-string-order",
        "tied scores: doc ids compare as strings ('9' > '10' > '09'), not as numbers",
        {"7": {"10": 1, "9": 0, "100": 2}, "8": {"09": 1}},
        {"7": [("9", 1.0), ("10", 1.0), ("100", 1.0), ("11", 1.0)], "8": [("9", 2.0), ("09", 2.0), ("10", 2.0)]},
    ))
    out.append(case(
        "query-sets",
        "run query without qrels (skipped), qrels query missing from run (skipped), "
        "query whose qrels are all 0 (counted, all zeros), query with an empty hit list (counted)",
        {"judged": {"d1": 1, "d2": 1}, "zeros": {"d1": 0, "d2": 0}, "absent": {"d1": 1}, "empty": {"d3": 1}},
        {"judged": [("d2", 0.9), ("d9", 0.8), ("d1", 0.7)], "zeros": [("d1", 1.0), ("d2", 0.5)],
         "unjudged": [("d1", 1.0)], "empty": []},
    ))
    identical_qrels = {"q1": {"q1": 1, "d1": 1}, "d2": {"d2": 2, "d3": 1}, "q3": {"q3": 1}}
    identical_run = {"q1": [("q1", 9.0), ("d1", 8.0), ("d5", 7.0)],
                     "d2": [("d4", 3.0), ("d2", 2.5), ("d3", 2.0)],
                     "q3": [("q3", 1.0)]}
    out.append(case("identical-ids-removed", "hits whose doc id equals the query id are dropped (BEIR default)",
                    identical_qrels, identical_run, ignore_identical_ids=True))
    out.append(case("identical-ids-kept", "the same run with ignore_identical_ids = False",
                    identical_qrels, identical_run, ignore_identical_ids=False))
    out.append(case(
        "short-run",
        "runs shorter than every cutoff (P@10 still divides by 10)",
        {"s1": {"a": 1, "b": 1, "c": 1}, "s2": {"a": 2}},
        {"s1": [("b", 3.0), ("x", 2.0), ("a", 1.0)], "s2": [("a", 0.5)]},
    ))
    out.append(case(
        "negative-scores",
        "negative and mixed-sign scores, order by value",
        {"n1": {"a": 1, "b": 2}, "n2": {"c": 1}},
        {"n1": [("a", -0.5), ("b", -3.25), ("c", -0.1), ("d", -10.0)], "n2": [("a", 1e-3), ("c", -1e-3), ("b", 0.0)]},
    ))
    out.append(case(
        "float32-ties",
        "scores distinct as doubles but equal as float32 (trec_eval keeps `float sim`) tie on doc id",
        {"f1": {"a": 1}, "f2": {"a": 1}, "f3": {"a": 1}},
        {"f1": [("a", 0.1 + 1e-12), ("b", 0.1)],
         "f2": [("a", 2e-300), ("b", 1e-300)],
         "f3": [("a", 0.3333333333333333), ("b", 0.33333334)]},
    ))
    out.append(case(
        "negative-qrels",
        "qrels below 0 (trec_eval: judged but 'unjudged in pool') behave like 0",
        {"g1": {"a": -1, "b": 1, "c": 0}},
        {"g1": [("a", 3.0), ("c", 2.0), ("b", 1.0)]},
    ))
    out.append(case(
        "unicode-ids",
        "non-ASCII ids tied on score: strcmp orders UTF-8 bytes (code points), not UTF-16 units",
        {"u1": {"\U0001F600": 1}, "u2": {"\uff46": 1}},
        {"u1": [("\uff46", 1.0), ("\U0001F600", 1.0), ("\u00e9", 1.0), ("z", 1.0)],
         "u2": [("\uff46", 1.0), ("\U0001F600", 1.0), ("\u00e9", 1.0), ("z", 1.0)]},
    ))
    long_qrels = {"L": {f"d{i}": (1 + i % 3) for i in range(0, 160, 9)}}
    long_run = {"L": [(f"d{i}", 1000.0 - i) for i in range(150)]}
    out.append(case("long-run", "150 hits, relevant docs on both sides of the cutoff 100", long_qrels, long_run))
    return out


def random_case(seed=20251125, n_queries=60, n_docs=400):
    rng = np.random.default_rng(seed)
    docs = [f"d{i}" for i in range(n_docs)]
    qrels, run = {}, {}
    for q in range(n_queries):
        qid = f"r{q}"
        if q % 13 != 5:  # some run queries without qrels
            judged = rng.choice(n_docs, size=int(rng.integers(1, 9)), replace=False)
            qrels[qid] = {docs[j]: int(rng.integers(0, 4)) for j in judged}
        if q % 11 == 3:  # some qrels queries missing from the run
            continue
        # Most judged docs are retrieved (else almost every value is 0), plus random others.
        judged_ids = [int(d[1:]) for d in qrels.get(qid, {}) if rng.random() < 0.7]
        others = rng.choice(n_docs, size=int(rng.integers(5, 150)), replace=False)
        hits = list(dict.fromkeys([*judged_ids, *others.tolist()]))
        rng.shuffle(hits)
        # Rounded scores create ties; sign mixes; emission order shuffled (trec_eval re-sorts).
        scores = np.round(rng.normal(0.0, 2.0, size=len(hits)), 1)
        run[qid] = [(docs[j], float(s)) for j, s in zip(hits, scores)]
    return case("random", f"numpy default_rng({seed}): {n_queries} queries, graded qrels, rounded (tied) scores",
                qrels, run)


def scifact_case():
    """Real SciFact test qrels + a synthetic run built by a recipe that the TypeScript test repeats:
    query i (order of first appearance in test.tsv) gets 130 slots of fillers f{i}_{s}; its relevant doc j
    (file order) goes to slot ((7i mod 23)·(1 + i mod 6) + 11j) mod 130, moving to the next free slot on collision; when i % 5 == 0
    and slot 2 still holds a filler, the query id itself goes there (removed by ignore_identical_ids);
    the run keeps slots 0..119 with score floor((130 - s) / 2), so neighbouring slots tie."""
    qrels, order = {}, []
    with open(SCIFACT_QRELS, encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, did, rel = line.rstrip("\n").split("\t")
            if qid not in qrels:
                qrels[qid] = {}
                order.append(qid)
            qrels[qid][did] = int(rel)
    run = {}
    for i, qid in enumerate(order):
        slots = [f"f{i}_{s}" for s in range(130)]
        placed = set()
        for j, did in enumerate(qrels[qid]):
            s = (((7 * i) % 23) * (1 + i % 6) + 11 * j) % 130
            while slots[s] in placed:
                s = (s + 1) % 130
            slots[s] = did
            placed.add(did)
        if i % 5 == 0 and slots[2] not in placed:
            slots[2] = qid
        run[qid] = {slots[s]: float((130 - s) // 2) for s in range(120)}
    res = pytrec(qrels, beir_pop_identical(run))
    return {"queries": res["queries"], "mean": res["mean"], "perQuery": res["perQuery"]}


def permutation_cases():
    """scipy.stats.permutation_test on paired samples (permutation_type='samples' swaps x_i and y_i, i.e.
    flips the sign of d_i), statistic mean(x - y), two-sided."""
    rng = np.random.default_rng(7)

    def scipy_p(a, b, n_resamples):
        res = stats.permutation_test(
            (np.asarray(a), np.asarray(b)),
            lambda x, y, axis: np.mean(x - y, axis=axis),
            permutation_type="samples", vectorized=True, alternative="two-sided",
            n_resamples=n_resamples, rng=np.random.default_rng(11),
        )
        return float(res.pvalue)

    out = []

    def add(name, a, b, exact):
        a = [float(x) for x in a]
        b = [float(x) for x in b]
        n_res = np.inf if exact else 200_000
        out.append({"name": name, "a": a, "b": b, "exact": exact,
                    "scipyResamples": None if exact else n_res, "pValue": scipy_p(a, b, n_res)})

    add("exact-n8", rng.uniform(0, 1, 8), rng.uniform(0, 1, 8), True)
    base = rng.uniform(0, 1, 12)
    add("exact-n12-equal-magnitudes", base + np.array([0.1, -0.1] * 6), base, True)
    x = rng.uniform(0, 1, 16)
    add("exact-n16-shifted", x + 0.05 + rng.normal(0, 0.1, 16), x, True)
    add("exact-n10-identical", base[:10], base[:10], True)
    y = rng.uniform(0, 1, 40)
    add("mc-n40-moderate", y + rng.normal(0.03, 0.12, 40), y, False)
    z = rng.uniform(0, 1, 300)
    add("mc-n300-no-shift", z + rng.normal(0.0, 0.1, 300), z, False)
    add("mc-n300-strong", z + 0.1 + rng.normal(0.0, 0.05, 300), z, False)
    return out


def main():
    fixture = {
        "generator": "tests/reference/gen/eval_fixtures.py",
        "versions": {"python": sys.version.split()[0], "pytrec_eval-terrier": version("pytrec-eval-terrier"),
                     "numpy": np.__version__, "scipy": scipy.__version__},
        "metrics": METRICS,
        "notes": "expected = pytrec_eval per query (keys mapped to ours; mrr = recip_rank; mrr@10 = recip_rank "
                 "if >= 0.1 else 0) and the mean over the queries pytrec_eval returns (BEIR's averaging). "
                 "beirMrr10 = BEIR custom_metrics.mrr restated (see beir_mrr10).",
        "cases": crafted_cases() + [random_case()],
        "scifact": scifact_case(),
        "permutation": permutation_cases(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
