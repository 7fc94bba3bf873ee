"""ONNX export of the real all-MiniLM-L6-v2 for the transformers.js baseline of bench/real-minilm.bench.ts.

Reads the sentence-transformers folder that `npm run -s expandr -- fetch-model all-MiniLM-L6-v2` writes
(.cache/models/all-MiniLM-L6-v2) and writes, in the layout transformers.js loads from env.localModelPath,
    .cache/models/all-MiniLM-L6-v2-onnx/
        config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.txt   (copied)
        onnx/model.onnx   torch.onnx.export of transformers' BertModel (eager attention) with inputs
                          input_ids, attention_mask, token_type_ids, output last_hidden_state, dynamic
                          batch and sequence axes, opset 14, traced on a padded (2, 16) batch
Then checks, where onnxruntime is importable in this interpreter, that its last_hidden_state equals
PyTorch's (max abs diff <= 1e-4) on a padded batch of another shape than the one traced. (The shared
interop venv has no onnxruntime; the benchmark itself checks transformers.js against PyTorch and ours.)

Run from the project root:
    .cache/venv-interop/bin/python tests/reference/gen/export_minilm_onnx.py [--src DIR] [--out DIR] [--force]
Deterministic; an existing complete export is kept unless --force.
"""

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from transformers import BertModel

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / ".cache/models/all-MiniLM-L6-v2"
OPSET = 14
ONNX_ATOL = 1e-4
COPIED = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]


def export(model, out):
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1000, model.config.vocab_size, (2, 16), generator=g)
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 10:] = 0
    axes = {0: "batch_size", 1: "sequence_length"}

    class LastHidden(torch.nn.Module):
        """BertModel with last_hidden_state as its only output (no pooler: sentence-transformers never uses it)."""

        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    # eval() on the wrapper too: export restores the wrapper's training flag afterwards, recursively, and
    # a fresh Module is in training mode (dropout on in the model this script goes on to check).
    with torch.no_grad():
        torch.onnx.export(
            LastHidden(model).eval(),
            (ids, mask, torch.zeros_like(ids)),
            str(out / "onnx/model.onnx"),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
            opset_version=OPSET,
            do_constant_folding=True,
        )


def check(model, out):
    try:
        import onnxruntime as ort
    except ImportError:
        print("  onnxruntime not importable here: check skipped (bench/real-minilm.bench.ts compares transformers.js with PyTorch)")
        return
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(1000, model.config.vocab_size, (3, 37), generator=g)
    mask = torch.ones(3, 37, dtype=torch.long)
    mask[1, 20:] = 0
    mask[2, 5:] = 0
    types = torch.zeros_like(ids)
    model.eval()
    with torch.no_grad():
        want = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state.numpy()
    sess = ort.InferenceSession(str(out / "onnx/model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(["last_hidden_state"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "token_type_ids": types.numpy()})[0]
    diff = float(np.abs(got - want).max())
    print(f"  onnx check: max |onnxruntime - torch| = {diff:.2e} on a (3, 37) padded batch (tolerance {ONNX_ATOL:g})")
    if diff > ONNX_ATOL:
        raise SystemExit(f"ONNX export in {out} differs from PyTorch by {diff}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=str(SRC), help="the sentence-transformers folder (fetch-model all-MiniLM-L6-v2)")
    ap.add_argument("--out", default=None, help="default: SRC + '-onnx'")
    ap.add_argument("--force", action="store_true", help="rebuild an existing export")
    args = ap.parse_args()
    src = Path(args.src)
    out = Path(args.out) if args.out else src.parent / (src.name + "-onnx")
    if not (src / "model.safetensors").exists():
        raise SystemExit(f"{src}: no model.safetensors; run `npm run -s expandr -- fetch-model all-MiniLM-L6-v2` first")
    if (out / "onnx/model.onnx").exists() and all((out / f).exists() for f in COPIED) and not args.force:
        print(f"{out}: exists (--force to rebuild)")
        return
    t0 = time.time()
    torch.manual_seed(0)
    # Eager attention: what exports to plain ONNX ops (and the only kind transformers 4.46 runs on torch 1.13).
    model = BertModel.from_pretrained(str(src), add_pooling_layer=False, attn_implementation="eager").eval()
    out.mkdir(parents=True, exist_ok=True)
    for f in COPIED:
        shutil.copyfile(src / f, out / f)
    export(model, out)
    mb = (out / "onnx/model.onnx").stat().st_size / 1e6
    print(f"{src.name}: onnx {mb:.0f} MB, opset {OPSET} -> {out} ({time.time() - t0:.1f} s)")
    check(model, out)


if __name__ == "__main__":
    main()
