"""Loads a decoder folder that ExpandR Web exported (src/llm/hf-export.ts) in transformers and compares its
logits with ours; optionally a PEFT adapter on top of it.

    python check_hf_llama.py MODEL_DIR EXPECTED_JSON [ADAPTER_DIR ADAPTER_EXPECTED_JSON]

EXPECTED_JSON: {"ids": [[...], ...], "logits": [[[...V floats] per position] per row]} — our logits for
unpadded rows of equal length; optionally "texts" with our "token_ids" (BOS first) and "decoded" texts.

Checks: config.json makes a LlamaForCausalLM; model.safetensors holds exactly the keys of its state dict
(lm_head.weight only when untied) with their shapes, F32; AutoModelForCausalLM.from_pretrained (float32,
eager attention) gives logits within TOLERANCE of ours. With an adapter: PeftModel.from_pretrained(base,
ADAPTER_DIR) in eval mode (LoRA dropout off) gives our adapted logits within TOLERANCE, and the adapter moves
the logits by far more than that (so the comparison has teeth). With "texts": AutoTokenizer.from_pretrained
gives our token ids for each text, and decodes them (skip_special_tokens) to our decoded text.

Prints one JSON line {"ok", "problems", "architecture", "keys", "max_diff", "adapter_max_diff",
"adapter_base_diff", "scaling", "tokenizer", "texts_encoded_alike", "texts_decoded_alike"}; exit status 0 when ok. Runs in .cache/venv-interop (or venv-llm):
transformers 4.46.3, peft 0.13.2, torch 1.13.
"""

import json
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from transformers import AutoConfig, AutoModelForCausalLM

TOLERANCE = 1e-4


def main() -> None:
    model_dir, expected_path = Path(sys.argv[1]), Path(sys.argv[2])
    adapter_dir = Path(sys.argv[3]) if len(sys.argv) > 4 else None
    adapter_expected = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    problems: list[str] = []

    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="eager", torch_dtype=torch.float32).eval()
    architecture = type(model).__name__
    if architecture != "LlamaForCausalLM":
        problems.append(f"loaded as {architecture}, expected LlamaForCausalLM")
    want = {k: list(v.shape) for k, v in model.state_dict().items()}
    if config.tie_word_embeddings:
        want.pop("lm_head.weight", None)
    with safe_open(model_dir / "model.safetensors", framework="pt") as f:
        got = {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
        dtypes = {str(f.get_slice(k).get_dtype()) for k in f.keys()}
        fmt = (f.metadata() or {}).get("format")
    if set(got) != set(want):
        problems.append(f"keys: missing {sorted(set(want) - set(got))[:4]}, unexpected {sorted(set(got) - set(want))[:4]}")
    problems += [f"{k}: shape {got[k]}, transformers expects {want[k]}" for k in sorted(set(got) & set(want)) if got[k] != want[k]]
    if dtypes != {"F32"}:
        problems.append(f"dtypes {sorted(dtypes)}, expected F32")
    if fmt != "pt":
        problems.append(f'safetensors metadata format is {fmt!r}, expected "pt"')

    expected = json.loads(expected_path.read_text())
    ids = torch.tensor(expected["ids"])
    ours = torch.tensor(expected["logits"], dtype=torch.float32)
    with torch.no_grad():
        theirs = model(ids).logits
    max_diff = float((theirs - ours).abs().max())
    if not max_diff <= TOLERANCE:
        problems.append(f"logits differ from ours by {max_diff:.3g} (> {TOLERANCE})")

    result = {"architecture": architecture, "keys": len(got), "max_diff": max_diff}
    if expected.get("texts"):
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(model_dir)
        encoded = decoded = 0
        for text, ids_ours, dec_ours in zip(expected["texts"], expected["token_ids"], expected["decoded"]):
            theirs_ids = tok(text)["input_ids"]
            if theirs_ids == ids_ours:
                encoded += 1
            else:
                problems.append(f"{text[:40]!r}: tokenizer ids {theirs_ids[:12]}… differ from ours {ids_ours[:12]}…")
            theirs_text = tok.decode(ids_ours, skip_special_tokens=True)
            if theirs_text == dec_ours:
                decoded += 1
            else:
                problems.append(f"{text[:40]!r}: decodes to {theirs_text[:40]!r}, ours {dec_ours[:40]!r}")
        result.update({"tokenizer": type(tok).__name__, "texts_encoded_alike": encoded, "texts_decoded_alike": decoded})
    if adapter_dir is not None:
        from peft import PeftModel

        exp = json.loads(adapter_expected.read_text())
        a_ids = torch.tensor(exp["ids"])
        a_ours = torch.tensor(exp["logits"], dtype=torch.float32)
        peft_model = PeftModel.from_pretrained(model, adapter_dir).eval()
        layer = next(m for m in peft_model.modules() if hasattr(m, "scaling") and isinstance(getattr(m, "scaling"), dict) and m.scaling)
        with torch.no_grad():
            adapted = peft_model(a_ids).logits
            with peft_model.disable_adapter():
                plain = peft_model(a_ids).logits
        a_diff = float((adapted - a_ours).abs().max())
        base_diff = float((plain - a_ours).abs().max())
        if not a_diff <= TOLERANCE:
            problems.append(f"logits with the adapter differ from ours by {a_diff:.3g} (> {TOLERANCE})")
        if not base_diff > 100 * TOLERANCE:
            problems.append(f"the adapter hardly changes the logits ({base_diff:.3g}): the check has no teeth")
        result.update({"adapter_max_diff": a_diff, "adapter_base_diff": base_diff, "scaling": layer.scaling["default"]})

    print(json.dumps({"ok": not problems, "problems": problems, **result}))
    sys.exit(0 if not problems else 1)


if __name__ == "__main__":
    main()
