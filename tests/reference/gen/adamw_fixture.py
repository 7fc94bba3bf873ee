"""Writes what torch.optim.AdamW and torch.nn.utils.clip_grad_norm_ do on a few fixed steps.

Output: tests/reference/fixtures/train-adamw-torch.json, read by tests/reference/train-adamw-torch.test.ts
to check src/train/optimizer.ts step for step (float32, CPU).

Three parameters, five steps with given gradients and learning rates (a warmup + linear decay schedule),
weight decay 0.01, gradients clipped to a global norm of 1.0 before each step. Parameter 2 has no
gradient on steps 1 and 3 (grad None): torch skips it then, its step count and moments do not move.

Run from the project root with Debian's python3-torch (1.13): /usr/bin/python3 tests/reference/gen/adamw_fixture.py
Deterministic: re-running rewrites the same file.
"""

import json
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tests/reference/fixtures/train-adamw-torch.json"

LRS = [0.0, 0.05, 0.04, 0.03, 0.01]  # lrAt(0..4) for lr 0.05, warmup 1, total 5
WEIGHT_DECAY = 0.01
MAX_NORM = 1.0
SKIP = {(2, 1), (2, 3)}  # (param, step) without a gradient


def main():
    g = torch.Generator().manual_seed(0)
    shapes = [[2, 3], [4], [3]]
    params = [torch.nn.Parameter(torch.randn(s, generator=g, dtype=torch.float32)) for s in shapes]
    init = [p.detach().clone() for p in params]
    opt = torch.optim.AdamW(params, lr=LRS[0], betas=(0.9, 0.999), eps=1e-8, weight_decay=WEIGHT_DECAY)
    steps = []
    for t, lr in enumerate(LRS):
        grads = []
        for i, p in enumerate(params):
            if (i, t) in SKIP:
                p.grad = None
                grads.append(None)
            else:
                gr = torch.randn(p.shape, generator=g, dtype=torch.float32) * (0.3 + t)  # later steps get clipped
                p.grad = gr.clone()
                grads.append(gr.flatten().tolist())
        norm = torch.nn.utils.clip_grad_norm_([p for p in params if p.grad is not None], MAX_NORM)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        steps.append({
            "lr": lr,
            "grads": grads,
            "clip_norm": float(norm),
            "params_after": [p.detach().flatten().tolist() for p in params],
        })
    OUT.write_text(json.dumps({
        "torch": torch.__version__,
        "betas": [0.9, 0.999],
        "eps": 1e-8,
        "weight_decay": WEIGHT_DECAY,
        "max_norm": MAX_NORM,
        "shapes": shapes,
        "init": [p.flatten().tolist() for p in init],
        "steps": steps,
    }, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
