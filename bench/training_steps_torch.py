"""PyTorch side of bench/training-steps.bench.ts: one optimizer step of a training task, as the Python
libraries run it, in a child process that answers JSON requests, one per line on stdin, with one JSON line
on stdout (logs go to stderr), so the Node benchmark can interleave its engines with this one.

Tasks (--task):
  infonce  all-MiniLM-L6-v2 (SentenceTransformer folder) with sentence-transformers'
           CachedMultipleNegativesRankingLoss (GradCache; mini_batch_size = our chunk) on (query, positive,
           hard negative) columns, scale = 1 / our temperature; step = tokenize the columns (as the ST
           trainer's collator does) + loss + backward + clip_grad_norm_(1) + torch.optim.AdamW, model.train()
           (dropout on, as ours).
  dpo      SmolLM2-135M-Instruct from the same GGUF (transformers' gguf_file=, dequantized to float32,
           lm_head tied to the embeddings as llama.cpp does), PEFT LoRA r 8 / α 32 on q_proj, v_proj, TRL's
           DPOTrainer (sigmoid loss, β 0.1, disable_dropout) with precompute_ref_log_probs (the reference
           log-probs once, before the first step, as our trainDpo does); step = trainer.training_step
           (forward + backward) + clip_grad_norm_(10) + optimizer.step() + scheduler.step() + zero_grad.

Requests:
  {"cmd": "init", ...task fields...}   builds the model and the batch, runs one warm-up step (infonce: on 2
      rows per column, as ours).
      infonce: {"queries": [...], "positives": [...], "negatives": [...], "chunk": 8, "scale": 50}
      dpo:     {"prompt": str, "chosen": str, "rejected": str, "max_length": 192, "max_prompt_length": 64}
      Answers {"ok": true, "threads": n, "torch": version, "blas": mapped BLAS, "versions": {...},
               "tokens": n, "warmup_ms": ms} and for dpo also "pair": TRL's prompt/chosen/rejected ids
               after truncation (the Node side trains on exactly these ids).
  {"cmd": "step"}   → {"ms": wall ms, "loss": value, "parts": {"forward + backward": ms, "clip + AdamW": ms}}
  {"cmd": "quit"}

    .cache/venv-interop/bin/python bench/training_steps_torch.py --task infonce --threads 2
"""

import argparse
import json
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
MINILM = ROOT / ".cache/models/all-MiniLM-L6-v2"
GGUF = ROOT / ".cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_MAX_LENGTH = 256
RETRIEVER_LR = 1e-5  # ours: src/train/settings.ts
RETRIEVER_MAX_GRAD_NORM = 1.0
DPO_LR = 2e-5  # ours: src/llm/dpo-settings.ts
DPO_MAX_GRAD_NORM = 10.0
DPO_BETA = 0.1
WARMUP_EXAMPLES = 2  # InfoNCE warm-up step: 2 queries + 2 positives + 2 negatives


def log(s):
    print(f"[pytorch] {s}", file=sys.stderr, flush=True)


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def blas_library():
    """The libblas.so.3 (or OpenBLAS) this torch calls, as mapped into the process."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/libblas.so" in line or ("/libopenblas" in line and "openblas-pthread" in line)}
    except OSError:
        return "unknown"
    return ", ".join(sorted(paths)) or "none mapped"


def ms_since(t):
    return (time.perf_counter() - t) * 1000


class InfoNceStep:
    def __init__(self, req):
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.losses import CachedMultipleNegativesRankingLoss

        self.model = SentenceTransformer(str(MINILM), device="cpu")
        self.model.max_seq_length = MINILM_MAX_LENGTH
        self.columns = [req["queries"], req["positives"], req["negatives"]]
        self.loss = CachedMultipleNegativesRankingLoss(self.model, scale=float(req["scale"]), mini_batch_size=int(req["chunk"]))
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=RETRIEVER_LR, weight_decay=0.0)
        self.tokens = sum(len(ids) for col in self.columns for ids in self.model.tokenizer(col, truncation=True, max_length=MINILM_MAX_LENGTH)["input_ids"])

    def warmup(self):
        """A step on the first WARMUP_EXAMPLES rows of each column (as ours warms up)."""
        return self.step([col[:WARMUP_EXAMPLES] for col in self.columns])

    def step(self, columns=None):
        t0 = time.perf_counter()
        self.model.train()
        features = [self.model.tokenize(col) for col in (columns or self.columns)]
        value = self.loss(features, None)
        value.backward()
        t1 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(self.params, RETRIEVER_MAX_GRAD_NORM)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        t2 = time.perf_counter()
        return {"ms": (t2 - t0) * 1000, "loss": float(value), "parts": {"forward + backward": (t1 - t0) * 1000, "clip + AdamW": (t2 - t1) * 1000}}


class DpoStep:
    def __init__(self, req):
        from datasets import Dataset
        from gguf import GGUFReader
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from trl import DPOConfig, DPOTrainer

        tok = AutoTokenizer.from_pretrained(GGUF.parent, gguf_file=GGUF.name)
        if tok.pad_token is None:  # TRL asks for one; a single pair of equal-length rows pads nothing
            tok.pad_token = tok.eos_token
        base = AutoModelForCausalLM.from_pretrained(GGUF.parent, gguf_file=GGUF.name, torch_dtype=torch.float32)
        # transformers 4.46 leaves lm_head random when the GGUF has no output.weight; llama.cpp (and our
        # loader) use the embeddings then: tie them (as tests/reference/gen/gguf_smollm2.py does).
        if not any(t.name == "output.weight" for t in GGUFReader(GGUF).tensors):
            base.config.tie_word_embeddings = True
            base.tie_weights()
        torch.manual_seed(0)
        model = get_peft_model(base, LoraConfig(r=8, lora_alpha=32, lora_dropout=0.1, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
        max_length, max_prompt = int(req["max_length"]), int(req["max_prompt_length"])
        self.tmp = tempfile.TemporaryDirectory()
        args = DPOConfig(
            output_dir=self.tmp.name, beta=DPO_BETA, max_length=max_length, max_prompt_length=max_prompt,
            max_completion_length=max_length - max_prompt, per_device_train_batch_size=1, learning_rate=DPO_LR,
            max_grad_norm=DPO_MAX_GRAD_NORM, report_to=[], use_cpu=True, bf16=False, fp16=False, disable_dropout=True,
            loss_type="sigmoid", precompute_ref_log_probs=True, seed=0, dataloader_num_workers=0,
        )
        pair = {"prompt": req["prompt"], "chosen": req["chosen"], "rejected": req["rejected"]}
        self.trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=Dataset.from_list([pair]), processing_class=tok)
        row = self.trainer.train_dataset[0]
        self.pair = {"prompt": row["prompt_input_ids"], "chosen": row["chosen_input_ids"], "rejected": row["rejected_input_ids"]}
        t0 = time.perf_counter()
        self.batch = next(iter(self.trainer.get_train_dataloader()))  # precomputes the reference log-probs
        log(f"reference log-probs once (with the dataloader): {ms_since(t0):.0f} ms")
        self.trainer.create_optimizer_and_scheduler(num_training_steps=1000)
        self.model = self.trainer.model
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.tokens = 2 * min(max_length, len(self.pair["prompt"]) + len(self.pair["chosen"]))

    def step(self):
        t0 = time.perf_counter()
        loss = self.trainer.training_step(self.model, self.batch)
        t1 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(self.params, DPO_MAX_GRAD_NORM)
        self.trainer.optimizer.step()
        self.trainer.lr_scheduler.step()
        self.model.zero_grad(set_to_none=True)
        t2 = time.perf_counter()
        return {"ms": (t2 - t0) * 1000, "loss": float(loss), "parts": {"forward + backward": (t1 - t0) * 1000, "clip + AdamW": (t2 - t1) * 1000}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=["infonce", "dpo"], required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    task = None
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            cmd = req["cmd"]
            if cmd == "quit":
                break
            if cmd == "init":
                t0 = time.perf_counter()
                task = InfoNceStep(req) if args.task == "infonce" else DpoStep(req)
                log(f"{args.task} loaded in {ms_since(t0) / 1000:.1f} s, torch {torch.__version__}, {torch.get_num_threads()} threads")
                warm = task.warmup() if hasattr(task, "warmup") else task.step()
                log(f"warm-up step {warm['ms']:.0f} ms, loss {warm['loss']:.5f}")
                versions = {k: version(k) for k in ("torch", "transformers", "sentence-transformers", "peft", "trl")}
                out = {"ok": True, "threads": torch.get_num_threads(), "torch": torch.__version__, "blas": blas_library(),
                       "versions": versions, "tokens": task.tokens, "warmup_ms": warm["ms"]}
                if args.task == "dpo":
                    out["pair"] = task.pair
                reply(out)
            elif task is None:
                reply({"error": f'"{cmd}" before "init"'})
            elif cmd == "step":
                reply(task.step())
            else:
                reply({"error": f"unknown cmd {cmd}"})
        except Exception as e:  # the benchmark reports it and goes on without this engine
            import traceback

            reply({"error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"})


if __name__ == "__main__":
    main()
