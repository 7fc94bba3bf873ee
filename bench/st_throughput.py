"""sentence-transformers (PyTorch, CPU) side of bench/real-minilm.bench.ts: a child process that loads a
SentenceTransformer folder once and answers JSON requests, one per line on stdin, with one JSON line on
stdout (logs go to stderr), so the Node benchmark can interleave its engines with this one.

Requests:
  {"cmd": "init", "texts": [...], "batch_size": B, "max_seq_length": L, "plan": [[i, ...], ...]}
      keeps the texts; warm-up: encodes the 4 longest (by the plan's order) once.
      Answers {"ok": true, "threads": n, "torch": version, "st": version, "blas": mapped BLAS library,
               "tokens": [n per text]}
  {"cmd": "embed"}   the embeddings of all texts, as encode() returns them (pooled, normalised by the
                     folder's modules), float32 in text order: {"dim": d, "data": [...]}
  {"cmd": "time", "mode": "st"|"plan"}
      "st":   wall time of model.encode(texts, batch_size=B): sentence-transformers' own batching
              (sorted by length, B rows a batch, each padded to its longest text)
      "plan": wall time of model.encode(batch) for each batch of the Node side's plan (the batches our
              encoder runs: its rows per batch are capped by attention size), so the engines pad alike
      Answers {"ms": wall milliseconds}
  {"cmd": "quit"}

Run by the benchmark as
    .cache/venv-interop/bin/python bench/st_throughput.py --model .cache/models/all-MiniLM-L6-v2 --threads 2
"""

import argparse
import json
import sys
import time

import numpy as np
import torch


def log(s):
    print(f"[pytorch] {s}", file=sys.stderr, flush=True)


def blas_library():
    """The libblas.so.3 torch's generic-BLAS build calls, whichever it is (scipy's own OpenBLAS aside)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/libblas.so" in line or "/libopenblas" in line and "openblas-pthread" in line}
    except OSError:
        return "unknown"
    return ", ".join(sorted(paths)) or "none mapped"


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    t0 = time.time()
    model = SentenceTransformer(args.model, device="cpu")
    model.eval()
    log(f"loaded {args.model} in {time.time() - t0:.1f} s, torch {torch.__version__}, {torch.get_num_threads()} threads")
    texts, batch_size, plan = [], 32, []
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        if cmd == "quit":
            break
        if cmd == "init":
            texts = req["texts"]
            batch_size = int(req["batch_size"])
            model.max_seq_length = int(req["max_seq_length"])
            plan = req["plan"]
            longest = [texts[i] for b in plan for i in b][:4]
            model.encode(longest, batch_size=batch_size, convert_to_numpy=True)  # warm-up
            tok = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)
            reply({"ok": True, "threads": torch.get_num_threads(), "torch": torch.__version__,
                   "st": sentence_transformers.__version__, "blas": blas_library(), "tokens": [len(x) for x in tok["input_ids"]]})
        elif cmd == "embed":
            e = model.encode(texts, batch_size=batch_size, convert_to_numpy=True).astype(np.float32)
            reply({"dim": int(e.shape[1]), "data": e.reshape(-1).tolist()})
        elif cmd == "time":
            t = time.perf_counter()
            if req["mode"] == "st":
                model.encode(texts, batch_size=batch_size, convert_to_numpy=True)
            else:
                for b in plan:
                    model.encode([texts[i] for i in b], batch_size=len(b), convert_to_numpy=True)
            reply({"ms": (time.perf_counter() - t) * 1000})
        else:
            reply({"error": f"unknown cmd {cmd}"})


if __name__ == "__main__":
    main()
