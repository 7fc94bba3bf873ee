"""Loads a sentence-transformers folder that ExpandR Web exported (src/train/checkpoint-export.ts) with
SentenceTransformer and compares its embeddings with ours.

    python check_st_embeddings.py DIR EXPECTED_JSON

EXPECTED_JSON: {"docs": [texts], "doc_embeddings": [[floats]], "queries": [texts], "query_embeddings": [[floats]]}
— our embeddings of the folder (loaded back by our loader), documents as they are and queries with the
folder's "query" prompt (config_sentence_transformers.json), when it has one.

Prints one JSON line {"ok", "problems", "modules", "max_seq_length", "prompts", "doc_max_diff",
"query_max_diff", "dim"}; exit status 0 when ok. Runs in .cache/venv-interop (sentence-transformers 3.3.1,
transformers 4.46.3, torch 1.13).
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

TOLERANCE = 1e-4


def main() -> None:
    folder, expected_path = Path(sys.argv[1]), Path(sys.argv[2])
    expected = json.loads(expected_path.read_text())
    problems: list[str] = []
    torch.manual_seed(0)
    model = SentenceTransformer(str(folder), device="cpu")
    model.eval()
    modules = [type(m).__name__ for m in model]
    docs = model.encode(expected["docs"], convert_to_numpy=True, batch_size=8).astype(np.float64)
    doc_diff = float(np.abs(docs - np.array(expected["doc_embeddings"], dtype=np.float64)).max())
    if not doc_diff <= TOLERANCE:
        problems.append(f"document embeddings differ from ours by {doc_diff:.3g} (> {TOLERANCE})")
    query_diff = None
    if expected.get("queries"):
        prompt = "query" if "query" in model.prompts else None
        qs = model.encode(expected["queries"], prompt_name=prompt, convert_to_numpy=True, batch_size=8).astype(np.float64)
        query_diff = float(np.abs(qs - np.array(expected["query_embeddings"], dtype=np.float64)).max())
        if not query_diff <= TOLERANCE:
            problems.append(f"query embeddings differ from ours by {query_diff:.3g} (> {TOLERANCE})")
    print(json.dumps({
        "ok": not problems,
        "problems": problems,
        "modules": modules,
        "max_seq_length": model.max_seq_length,
        "prompts": model.prompts,
        "dim": int(docs.shape[1]),
        "doc_max_diff": doc_diff,
        "query_max_diff": query_diff,
    }))
    sys.exit(0 if not problems else 1)


if __name__ == "__main__":
    main()
