"""Writes what PyTorch computes for InfoNCE with in-batch negatives when some columns are masked out.

Output: tests/reference/fixtures/train-infonce-torch.json, read by tests/reference/train-infonce-torch.test.ts
to check src/train/infonce.ts (infoNceLoss and falseNegativeMask): loss and both gradients.

Each case has B queries and N = B·(1+h) documents (B drawn positives, then h·B hard negatives), the doc id of
every column and the ids judged relevant to every query. The mask is built here from the ids by the rule
(column j is no negative of query i when j != i and doc_ids[j] is one of query i's positives, its drawn
positive doc_ids[i] included), the masked logits set to -inf with masked_fill, and the loss is
torch.nn.functional.cross_entropy with the diagonal as target (mean over queries); torch autograd gives
the gradients. Cases: a positive drawn by two queries, a hard negative that is another query's positive,
a query with two positives, and an unmasked control.

Run from the project root: .cache/venv-interop/bin/python tests/reference/gen/infonce_masked.py
(or Debian's python3 with python3-torch). Deterministic: re-running rewrites the same file.
"""

import json
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tests/reference/fixtures/train-infonce-torch.json"
DIM = 5

CASES = [
    {
        "name": "two queries drew the same positive (no hard negatives)",
        "temperature": 0.05,
        "doc_ids": ["d1", "d2", "d1"],
        "positives": [["d1"], ["d2"], ["d1", "d3"]],
    },
    {
        "name": "a hard negative is another query's positive; a query with two positives",
        "temperature": 0.02,
        "doc_ids": ["d1", "d2", "d3", "d4", "n1", "d4", "n2", "d2"],
        "positives": [["d1", "d3"], ["d2"], ["d3"], ["d4"]],
    },
    {
        "name": "no shared document: nothing masked",
        "temperature": 1.0,
        "doc_ids": ["d1", "d2", "d3", "n1", "n2", "n3"],
        "positives": [["d1"], ["d2"], ["d3"]],
    },
]


def mask_of(doc_ids, positives):
    b, n = len(positives), len(doc_ids)
    m = torch.zeros(b, n, dtype=torch.bool)
    for i in range(b):
        relevant = set(positives[i]) | {doc_ids[i]}
        for j in range(n):
            m[i, j] = j != i and doc_ids[j] in relevant
    return m


def run(case, g):
    b, n = len(case["positives"]), len(case["doc_ids"])
    q = torch.randn(b, DIM, generator=g, dtype=torch.float32)
    d = torch.randn(n, DIM, generator=g, dtype=torch.float32)
    # Unit rows, as the contriever normalisation trains them: scores stay within ±1/τ.
    q = torch.nn.functional.normalize(q, dim=1).requires_grad_(True)
    d = torch.nn.functional.normalize(d, dim=1).requires_grad_(True)
    mask = mask_of(case["doc_ids"], case["positives"])
    scores = (q @ d.T / case["temperature"]).masked_fill(mask, float("-inf"))
    loss = torch.nn.functional.cross_entropy(scores, torch.arange(b))
    loss.backward()
    unmasked = torch.nn.functional.cross_entropy(q.detach() @ d.detach().T / case["temperature"], torch.arange(b))
    return {
        **case,
        "q": q.detach().tolist(),
        "d": d.detach().tolist(),
        "mask": mask.int().tolist(),
        "loss": loss.item(),
        "loss_unmasked": unmasked.item(),
        "grad_q": q.grad.tolist(),
        "grad_d": d.grad.tolist(),
    }


def main():
    g = torch.Generator().manual_seed(0)
    cases = [run(c, g) for c in CASES]
    OUT.write_text(json.dumps({"torch": torch.__version__, "dim": DIM, "cases": cases}, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(cases)} cases")


if __name__ == "__main__":
    main()
