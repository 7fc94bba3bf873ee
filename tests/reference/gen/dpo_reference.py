"""DPO on the tiny Qwen2 fixture with a LoRA adapter, computed by TRL's own DPOTrainer (trl 0.12.2) on a
PEFT model (peft 0.13.2): the loss of Eq. 17, the policy / reference log-probs, the implicit rewards and
the gradients of every lora_A / lora_B — what tests/reference/dpo-torch.test.ts compares our tfjs DPO with.

Outputs:
  tests/reference/fixtures/tiny-qwen2-lora/       the adapter as PEFT saves it (adapter_config.json,
                                                  adapter_model.safetensors): A from PEFT's kaiming-uniform
                                                  init, B random (non-zero, so the policy differs from the
                                                  reference), both float32
  tests/reference/fixtures/dpo-tiny-qwen2-torch.json
      pairs          the texts, the prompt rendered through the chat template, and TRL's tokenize_row ids
      rows           TRL's concatenated batch: ids and loss mask after flush-left and max_length truncation
      logps          policy / reference log-probs of chosen and rejected per pair (TRL concatenated_forward)
      loss, metrics  DPOTrainer.get_batch_loss_metrics (sigmoid loss, β 0.1), and Eq. 17 by hand as a check
      grads          d loss / d lora_A, lora_B per module (PEFT key names without "default")

float64 forward and backward on the float32 weights (eager attention takes its softmax in float32, as in
tiny_qwen2.py); dropout off (TRL's disable_dropout default), so the numbers are exact, not sampled.

Run from the project root in the venv of tests/reference/requirements-llm.txt (+ requirements-llm-nodeps.txt
for peft, installed with --no-deps; see the note there):
    .cache/venv-llm/bin/python tests/reference/gen/dpo_reference.py
Deterministic (fixed seeds): re-running rewrites the same files.
"""

import json
import math
import tempfile
from importlib.metadata import version
from pathlib import Path

import torch
import torch.nn.functional as F
from datasets import Dataset
from peft import LoraConfig, get_peft_model
from transformers import AutoTokenizer, Qwen2ForCausalLM
from trl import DPOConfig, DPOTrainer

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests/reference/fixtures"
BASE = FIXTURES / "tiny-qwen2"
ADAPTER = FIXTURES / "tiny-qwen2-lora"
OUT_JSON = FIXTURES / "dpo-tiny-qwen2-torch.json"

SEED = 20251126
BETA = 0.1
MAX_PROMPT_LENGTH = 24  # small, so that the first pair's prompt is cut from the left as TRL does
MAX_LENGTH = 44  # small, so that the longest completion loses its end (the model has 64 positions)
B_STD = 0.2  # lora_B random instead of 0: the policy must differ from the reference

PAIRS = [
    {
        "prompt": "Please write a passage to answer the question.\nQuestion: what is the role of vitamin D in bone health?\nPassage:",
        "chosen": "Vitamin D helps the body absorb calcium, which keeps bones strong.",
        "rejected": "Once upon a time, there was a little girl named Lily.",
    },
    {
        "prompt": "Question: what is vitamin D?",
        "chosen": "Passage: Vitamin D helps the body.",
        "rejected": "Dense retrievers encode queries.",
    },
    {
        "prompt": "Hello",
        "chosen": "Once upon a time.",
        "rejected": "Hello, world!",
    },
]


def lora_config() -> LoraConfig:
    return LoraConfig(r=8, lora_alpha=32, lora_dropout=0.1, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")


def build_adapter() -> None:
    """PEFT's own init for A (torch's global RNG, seeded), a seeded random B; saved as float32."""
    torch.manual_seed(SEED)
    base = Qwen2ForCausalLM.from_pretrained(BASE, attn_implementation="eager", torch_dtype=torch.float32)
    model = get_peft_model(base, lora_config())
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(B_STD * torch.randn(p.shape, generator=g))
    model.save_pretrained(ADAPTER, safe_serialization=True)
    (ADAPTER / "README.md").unlink(missing_ok=True)  # PEFT's model-card template, not needed
    # PEFT records the absolute path it loaded the base from; keep the fixture machine-independent.
    cfg_path = ADAPTER / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = "tiny-qwen2"
    cfg["target_modules"] = sorted(cfg["target_modules"])  # a Python set: its order follows PYTHONHASHSEED
    cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def flat(x: torch.Tensor) -> list:
    return [float(f"{v:.10g}") for v in x.reshape(-1).tolist()]


def main() -> None:
    build_adapter()
    from peft import PeftModel

    tok = AutoTokenizer.from_pretrained(BASE)
    base = Qwen2ForCausalLM.from_pretrained(BASE, attn_implementation="eager", torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, ADAPTER, is_trainable=True).double()

    rendered = [
        {**p, "prompt": tok.apply_chat_template([{"role": "user", "content": p["prompt"]}], tokenize=False, add_generation_prompt=True)}
        for p in PAIRS
    ]
    with tempfile.TemporaryDirectory() as tmp:
        args = DPOConfig(
            output_dir=tmp, beta=BETA, max_length=MAX_LENGTH, max_prompt_length=MAX_PROMPT_LENGTH,
            per_device_train_batch_size=len(PAIRS), report_to=[], use_cpu=True, bf16=False, fp16=False,
            disable_dropout=True, loss_type="sigmoid", seed=SEED,
        )
        trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=Dataset.from_list(rendered), processing_class=tok)
        rows = [trainer.train_dataset[i] for i in range(len(PAIRS))]
        batch = trainer.data_collator(rows)
        model.train()  # dropout modules are at p = 0 (disable_dropout), so train mode is deterministic
        model.zero_grad()
        loss, metrics = trainer.get_batch_loss_metrics(model, batch, train_eval="train")
        loss.backward()

        # The same forward, recorded: TRL's concatenated inputs after flush-left and max_length.
        with torch.no_grad():
            out = trainer.concatenated_forward(model, batch)
            with trainer.null_ref_context():
                ref = trainer.concatenated_forward(model, batch)

    # Eq. 17 by hand as a check of TRL's loss.
    pc, pr = out["chosen_logps"], out["rejected_logps"]
    rc, rr = ref["chosen_logps"], ref["rejected_logps"]
    eq17 = (-F.logsigmoid(BETA * ((pc - rc) - (pr - rr)))).mean()
    assert abs(float(eq17) - float(loss)) < 1e-12, (float(eq17), float(loss))

    grads = {}
    for name, p in model.named_parameters():
        if "lora_" in name:
            key = name.replace(".default.weight", ".weight")
            grads[key] = {"shape": list(p.shape), "grad": flat(p.grad)}

    # Rows as TRL's concatenated_forward builds them (for the tokenization / truncation check).
    cat = trainer.concatenated_inputs(batch, padding_value=trainer.padding_value)
    results = {
        "generator": "tests/reference/gen/dpo_reference.py",
        "versions": {k: version(k) for k in ("torch", "transformers", "peft", "trl")},
        "dtype": "float64 forward/backward on float32 weights; dropout off (TRL disable_dropout)",
        "beta": BETA,
        "max_length": MAX_LENGTH,
        "max_prompt_length": MAX_PROMPT_LENGTH,
        "pairs": [
            {
                **PAIRS[i],
                "rendered_prompt": rendered[i]["prompt"],
                "prompt_ids": rows[i]["prompt_input_ids"],
                "chosen_ids": rows[i]["chosen_input_ids"],
                "rejected_ids": rows[i]["rejected_input_ids"],
            }
            for i in range(len(PAIRS))
        ],
        "concatenated": {
            "prompt_input_ids": cat["prompt_input_ids"].tolist(),
            "completion_input_ids": cat["completion_input_ids"].tolist(),
            "completion_attention_mask": cat["completion_attention_mask"].tolist(),
        },
        "logps": {"policy_chosen": flat(pc), "policy_rejected": flat(pr), "reference_chosen": flat(rc), "reference_rejected": flat(rr)},
        "loss": float(loss),
        "log2": math.log(2),
        "metrics": {k: float(v) for k, v in metrics.items() if k.startswith("rewards/") or k.startswith("logps/")},
        "grads": grads,
    }
    OUT_JSON.write_text(json.dumps(results, indent=None, separators=(",", ":"), allow_nan=False) + "\n")
    print(f"loss {float(loss):.6f} (Eq. 17 by hand {float(eq17):.6f}); margin {results['metrics']['rewards/margins']:.6f}")
    print(f"wrote {OUT_JSON.relative_to(ROOT)} ({OUT_JSON.stat().st_size / 1024:.0f} KiB) and {ADAPTER.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
