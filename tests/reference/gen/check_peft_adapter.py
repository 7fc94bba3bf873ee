"""Checks a LoRA adapter folder that ExpandR Web exported against what PEFT itself expects, and that PEFT
computes the same function with it as our tfjs decoder did.

    python check_peft_adapter.py ADAPTER_DIR BASE_MODEL_DIR EXPECTED_JSON

EXPECTED_JSON: {"ids": [[...], ...], "logits": [[[...V floats] per position] per row]} — our logits with the
adapter on, for right-aligned unpadded rows of equal length.

Checks: adapter_config.json has PEFT's field names and values for a plain LoRA (peft_type, task_type, r,
lora_alpha, lora_dropout, target_modules, bias, fan_in_fan_out, inference_mode, …) and LoraConfig reads it;
adapter_model.safetensors holds exactly base_model.model.<module>.lora_A.weight (r, in) and .lora_B.weight
(out, r) for every module of the base model that target_modules selects (as PEFT selects them); then
PeftModel.from_pretrained(base, ADAPTER_DIR) gives logits within 1e-4 of ours (float64 forward), while the
base model alone differs (so the comparison has teeth).

Prints one JSON line {"ok", "problems", "keys", "max_diff", "base_diff"}; exit status 0 when ok.
Runs in the venv of tests/reference/requirements-llm.txt (transformers 4.46.3, peft 0.13.2, torch 1.13).
"""

import json
import re
import sys
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel
from safetensors import safe_open
from transformers import AutoModelForCausalLM

TOLERANCE = 1e-4
REQUIRED = {
    "peft_type": "LORA",
    "task_type": "CAUSAL_LM",
    "bias": "none",
    "fan_in_fan_out": False,
    "inference_mode": True,
    "use_dora": False,
}
FIELDS = ["r", "lora_alpha", "lora_dropout", "target_modules", "base_model_name_or_path", "use_rslora", "modules_to_save", "layers_to_transform"]


def targeted(name: str, targets) -> bool:
    """PEFT's check_target_module_exists for a list or a regex string."""
    if isinstance(targets, str):
        return re.fullmatch(targets, name) is not None
    return any(name == t or name.endswith("." + t) for t in targets)


def main() -> None:
    adapter, base_dir, expected_path = (Path(p) for p in sys.argv[1:4])
    problems: list[str] = []
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    for k, v in REQUIRED.items():
        if cfg.get(k) != v:
            problems.append(f"adapter_config.json: {k} is {cfg.get(k)!r}, expected {v!r}")
    problems += [f"adapter_config.json: no field {k!r}" for k in FIELDS if k not in cfg]
    LoraConfig.from_pretrained(adapter)  # PEFT's own reader must accept every field

    base = AutoModelForCausalLM.from_pretrained(base_dir, attn_implementation="eager", torch_dtype=torch.float32)
    r = cfg["r"]
    want = {}
    for name, module in base.named_modules():
        if isinstance(module, torch.nn.Linear) and targeted(name, cfg["target_modules"]):
            want[f"base_model.model.{name}.lora_A.weight"] = [r, module.in_features]
            want[f"base_model.model.{name}.lora_B.weight"] = [module.out_features, r]
    with safe_open(adapter / "adapter_model.safetensors", framework="pt") as f:
        got = {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
        dtypes = {str(f.get_slice(k).get_dtype()) for k in f.keys()}
    if set(got) != set(want):
        problems.append(f"keys: missing {sorted(set(want) - set(got))[:4]}, unexpected {sorted(set(got) - set(want))[:4]}")
    problems += [f"{k}: shape {got[k]}, PEFT expects {want[k]}" for k in sorted(set(got) & set(want)) if got[k] != want[k]]
    if dtypes != {"F32"}:
        problems.append(f"dtypes {sorted(dtypes)}, expected F32")

    expected = json.loads(expected_path.read_text())
    ids = torch.tensor(expected["ids"])
    ours = torch.tensor(expected["logits"], dtype=torch.float64)
    model = PeftModel.from_pretrained(base, adapter).double().eval()
    with torch.no_grad():
        theirs = model(ids).logits
        with model.disable_adapter():
            plain = model(ids).logits
    max_diff = float((theirs - ours).abs().max())
    base_diff = float((plain - ours).abs().max())
    if not max_diff <= TOLERANCE:
        problems.append(f"logits with the adapter differ from ours by {max_diff:.3g} (> {TOLERANCE})")
    if not base_diff > 100 * TOLERANCE:
        problems.append(f"the adapter hardly changes the logits ({base_diff:.3g}): the check has no teeth")
    print(json.dumps({"ok": not problems, "problems": problems, "keys": len(got), "max_diff": max_diff, "base_diff": base_diff}))
    sys.exit(0 if not problems else 1)


if __name__ == "__main__":
    main()
