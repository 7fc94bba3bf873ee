"""Writes tests/reference/fixtures/eval-bootstrap.json: percentile bootstrap intervals of a paired mean
difference from scipy.stats.bootstrap, read by tests/reference/eval-bootstrap.test.ts (src/eval/bootstrap.ts).

Run from the project root (the interop venv has numpy and scipy):
    .cache/venv-interop/bin/python tests/reference/gen/bootstrap_fixtures.py

The inputs are drawn with fixed seeds and scipy resamples 200,000 times (its own generator, seeded), so the
reference endpoints carry little Monte Carlo error of their own; re-running rewrites the same file.
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tests/reference/fixtures/eval-bootstrap.json"
RESAMPLES = 200_000
LEVEL = 0.95


def interval(a, b):
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    res = stats.bootstrap((d,), np.mean, n_resamples=RESAMPLES, confidence_level=LEVEL, method="percentile",
                          vectorized=True, random_state=np.random.default_rng(7))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def case(name, description, a, b):
    lo, hi = interval(a, b)
    return {"name": name, "description": description, "a": [float(x) for x in a], "b": [float(x) for x in b], "lo": lo, "hi": hi}


def cases():
    rng = np.random.default_rng(20261205)
    grades = np.array([0.0, 1 / 3, 0.5, 0.6309297535714575, 1.0])
    out = []
    # nDCG@10-like values with many ties: 300 queries, the second system a little better on some.
    a = rng.choice(grades, size=300, p=[0.2, 0.1, 0.15, 0.15, 0.4])
    b = np.where(rng.random(300) < 0.2, rng.choice(grades, size=300), a)
    out.append(case("ndcg-like-300", "300 queries of nDCG@10-like values, 20 % of them changed", a, b))
    # Continuous values, 30 queries, a clear shift.
    a = rng.random(30)
    out.append(case("continuous-30", "30 uniform values against themselves minus 0.1 plus noise", a, a - 0.1 + 0.05 * rng.standard_normal(30)))
    # Skewed: most differences 0, a few large ones (a typical expansion effect).
    a = np.zeros(162)
    b = np.zeros(162)
    idx = rng.choice(162, size=20, replace=False)
    b[idx] = rng.choice([-1.0, -0.5, 0.5, 1.0], size=20, p=[0.1, 0.2, 0.3, 0.4])
    out.append(case("sparse-162", "162 queries, 20 of them differing by ±0.5 or ±1", a, b))
    return out


def main():
    fixture = {
        "generator": "tests/reference/gen/bootstrap_fixtures.py",
        "versions": {"python": sys.version.split()[0], "numpy": version("numpy"), "scipy": version("scipy")},
        "method": "scipy.stats.bootstrap(method='percentile') of mean(a - b)",
        "resamples": RESAMPLES,
        "level": LEVEL,
        "cases": cases(),
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(fixture['cases'])} cases")


if __name__ == "__main__":
    main()
