"""Checks a GGUF file that ExpandR Web exported (a LoRA merged into a GGUF model, src/llm/gguf/merge-export.ts)
with the canonical Python readers: the `gguf` package and transformers + PEFT.

    python check_gguf_export.py SPEC_JSON

SPEC_JSON: {"source": the .gguf the model was loaded from, "out": the exported .gguf, "adapter": the PEFT
adapter folder that was merged, "mode": "f16" | "source" | "requantize", "merged": [llama.cpp names of the
merged matrices], "ids": [[token ids], ...] (rows of equal length), "logits" / "logits_off": [[V floats], ...]
(our tfjs decoder's last-position logits per row, float32, with the adapter on / off), "tolerance": the bound
for |ours − transformers on the export|, "peft_tolerance": the float32-only bound (ours vs PEFT; the export vs
PEFT's merge rounded to float16), "min_effect" (optional, default 10 × tolerance): how far the export's logits
must be from our base model's}.

Checks, with the `gguf` package (GGUFReader):
  - the same tensors in the same order with the same shapes; types: 1-D tensors F32; merged matrices F16
    (mode source / f16) or the source type (requantize); other matrices F16 (mode f16) or byte-identical to
    the source (source / requantize);
  - every metadata key of the source present with the same value type and value, tokenizer arrays
    (tokens, merges, token_type) and the chat template included, except general.name (ours says it is
    ExpandR-tuned) and general.file_type (1 = mostly F16 in mode f16); general.description names the merge.
With transformers 4.46 (`from_pretrained(dir, gguf_file=...)`, float32, lm_head tied as llama.cpp ties it):
  - PEFT reference: the source model with the adapter (PeftModel.from_pretrained) gives our logits within
    peft_tolerance, and merge_and_unload() gives the merged weights; the export's merged weights (dequantized
    and un-permuted by transformers) equal them to float16 rounding in modes f16/source, and the export's logits
    equal those of that merge rounded to float16 within peft_tolerance (the file is exactly the rounded merge);
  - the exported model's last-position logits equal ours within `tolerance`, and differ from our base model's
    (adapter off) by more than min_effect (the merge is really in the file).

Prints one JSON line {"ok", "problems", "tensors", "metadata_keys", "max_diff", "peft_diff", "adapter_effect",
"merge_max_err", "export_vs_rounded_merge", "seconds", ...}; exit status 0 when ok. Runs in the interop venv (tests/reference/requirements-llm.txt:
transformers 4.46.3, peft 0.13.2, gguf, torch 1.13).
"""

import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from gguf import GGMLQuantizationType as Q
from gguf import GGUFReader, GGUFValueType, dequantize
from peft import PeftModel
from transformers import AutoModelForCausalLM
from transformers.modeling_gguf_pytorch_utils import reverse_permute_weights

CHANGED_KEYS = {"general.name", "general.file_type", "general.description"}
MOSTLY_F16 = 1  # llama_ftype LLAMA_FTYPE_MOSTLY_F16


def field_value(field):
    """A metadata value as plain Python (strings decoded, arrays as lists) with its type list."""
    types = [GGUFValueType(t).name for t in field.types]
    parts = [field.parts[i] for i in field.data]
    if field.types[0] == GGUFValueType.STRING:
        return types, bytes(parts[0]).decode("utf-8")
    if field.types[0] == GGUFValueType.ARRAY:
        if field.types[-1] == GGUFValueType.STRING:
            return types, [bytes(p).decode("utf-8") for p in parts]
        return types, [p.tolist()[0] for p in parts]
    return types, parts[0].tolist()[0]


def load(path: Path, tensor_names: list[str]):
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, torch_dtype=torch.float32)
    # transformers 4.46 leaves lm_head untied when a GGUF has no output.weight; llama.cpp uses token_embd.
    if "output.weight" not in tensor_names:
        model.config.tie_word_embeddings = True
        model.tie_weights()
    return model.eval()


def source_model(spec, exported, src: GGUFReader, names: list[str]):
    """The source model as transformers loads it. In modes source/requantize every tensor but the merged ones
    is byte-identical in the export (check_file checked that), so the export's model with the merged matrices
    put back from the source (gguf.dequantize + transformers' reverse_permute_weights, as its GGUF loader
    does) is that model, without a second ~10 s load."""
    if spec["mode"] == "f16":
        return load(Path(spec["source"]), names)
    model = copy.deepcopy(exported)
    heads, kv_heads = model.config.num_attention_heads, model.config.num_key_value_heads
    tensors = {t.name: t for t in src.tensors}
    for name in spec["merged"]:
        t = tensors[name]
        w = dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)])
        if ".attn_q." in name:
            w = reverse_permute_weights(w, heads, heads)
        elif ".attn_k." in name:
            w = reverse_permute_weights(w, heads, kv_heads)
        model.get_submodule(hf_module(name)).weight.data = torch.from_numpy(np.ascontiguousarray(w))
    return model


def last_logits(model, ids: torch.Tensor) -> torch.Tensor:
    """The last position's logits only: the head on one hidden state per row (Debian's torch has a slow BLAS)."""
    with torch.no_grad():
        causal_lm = model.get_base_model() if isinstance(model, PeftModel) else model
        hidden = causal_lm.model(ids, attention_mask=torch.ones_like(ids)).last_hidden_state[:, -1, :]
        return causal_lm.lm_head(hidden).double()


HF_MODULES = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
              "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def hf_module(gguf_name: str) -> str:
    """blk.3.attn_q.weight → model.layers.3.self_attn.q_proj (transformers' GGUF name mapping)."""
    _, layer, kind, _ = gguf_name.split(".")
    return f"model.layers.{layer}.{HF_MODULES[kind]}"


def check_file(spec, problems):
    src, out = GGUFReader(spec["source"]), GGUFReader(spec["out"])
    mode, merged = spec["mode"], set(spec["merged"])
    names = [t.name for t in src.tensors]
    if [t.name for t in out.tensors] != names:
        problems.append(f"tensor names/order differ: {len(out.tensors)} tensors vs {len(names)} in the source")
    by_name = {t.name: t for t in out.tensors}
    for s in src.tensors:
        o = by_name.get(s.name)
        if o is None:
            continue
        if o.shape.tolist() != s.shape.tolist():
            problems.append(f"{s.name}: shape {o.shape.tolist()}, source {s.shape.tolist()}")
        if len(s.shape) == 1:
            want = Q.F32
        elif s.name in merged:
            want = s.tensor_type if mode == "requantize" else Q.F16
        else:
            want = Q.F16 if mode == "f16" else s.tensor_type
        if o.tensor_type != want:
            problems.append(f"{s.name}: type {o.tensor_type.name}, expected {want.name} (mode {mode})")
        elif s.name not in merged and want == s.tensor_type and not np.array_equal(o.data, s.data):
            problems.append(f"{s.name}: not byte-identical to the source")
    for name in merged:
        if name not in by_name:
            problems.append(f"merged tensor {name} missing")
    if out.alignment != src.alignment:
        problems.append(f"alignment {out.alignment}, source {src.alignment}")

    keys = 0
    for key, field in src.fields.items():
        if key.startswith("GGUF.") or key in CHANGED_KEYS:
            continue
        keys += 1
        if key not in out.fields:
            problems.append(f"metadata {key} missing")
            continue
        if field_value(out.fields[key]) != field_value(field):
            problems.append(f"metadata {key} differs (types {field_value(out.fields[key])[0]} vs {field_value(field)[0]})")
    extra = set(out.fields) - set(src.fields) - CHANGED_KEYS
    if extra:
        problems.append(f"unexpected metadata keys {sorted(extra)}")
    name = field_value(out.fields["general.name"])[1] if "general.name" in out.fields else ""
    if "ExpandR" not in name:
        problems.append(f"general.name {name!r} does not say the model is ExpandR-tuned")
    description = field_value(out.fields["general.description"])[1] if "general.description" in out.fields else ""
    if "LoRA" not in description:
        problems.append(f"general.description {description!r} does not name the merge")
    file_type = field_value(out.fields["general.file_type"])[1]
    src_type = field_value(src.fields["general.file_type"])[1] if "general.file_type" in src.fields else None
    if file_type != (MOSTLY_F16 if mode == "f16" else src_type):
        problems.append(f"general.file_type {file_type} (mode {mode}, source {src_type})")
    tokenizer = {k: len(field_value(out.fields[k])[1]) for k in ["tokenizer.ggml.tokens", "tokenizer.ggml.merges"] if k in out.fields}
    return src, names, {"tensors": len(out.tensors), "metadata_keys": keys, "tokenizer": tokenizer, "has_chat_template": "tokenizer.chat_template" in out.fields}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    problems: list[str] = []
    t0 = time.time()
    src, names, result = check_file(spec, problems)
    seconds = {"gguf_checks": time.time() - t0}

    ids = torch.tensor(spec["ids"])
    ours = torch.tensor(spec["logits"], dtype=torch.float64)
    ours_off = torch.tensor(spec["logits_off"], dtype=torch.float64)
    t0 = time.time()
    exported = load(Path(spec["out"]), names)
    seconds["load_export"] = time.time() - t0
    export_logits = last_logits(exported, ids)
    t0 = time.time()
    base = source_model(spec, exported, src, names)
    seconds["load_source"] = time.time() - t0
    base_weights = {name: base.get_submodule(hf_module(name)).weight.detach().clone().double() for name in spec["merged"]}
    peft = PeftModel.from_pretrained(base, spec["adapter"]).eval()
    peft_logits = last_logits(peft, ids)
    reference = peft.merge_and_unload()

    merge_err = 0.0
    for name in spec["merged"]:
        module = hf_module(name)
        want = reference.get_submodule(module).weight.detach().double()
        got = exported.get_submodule(module).weight.detach().double()
        err = (got - want).abs()
        if spec["mode"] != "requantize":
            # float16 rounding: half an ulp (2^-11 relative; 2^-25 absolute below 2^-14), plus float32 noise of
            # W + ΔW computed two ways (ours, PEFT's), which decides the rounding where W and ΔW nearly cancel.
            w = base_weights[name]
            bound = torch.maximum(want.abs() * 2.0**-11, torch.full_like(want, 2.0**-25)) + (w.abs() + (want - w).abs()) * 2.0**-22
            if (err > bound).any():
                problems.append(f"{name}: merged weight off by {err.max().item():.3g}, more than float16 rounding")
        merge_err = max(merge_err, err.max().item())
        # The exact merge rounded to float16, for the logits below: the export should be this model.
        reference.get_submodule(module).weight.data = reference.get_submodule(module).weight.data.half().float()
    if spec["mode"] == "f16":  # there every matrix is float16, the merged ones and all others
        for module in reference.modules():
            if isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
                module.weight.data = module.weight.data.half().float()
    rounded_logits = last_logits(reference, ids) if spec["mode"] != "requantize" else None

    result.update({
        "max_diff": (export_logits - ours).abs().max().item(),
        "peft_diff": (peft_logits - ours).abs().max().item(),
        "export_vs_peft": (export_logits - peft_logits).abs().max().item(),
        "adapter_effect": (export_logits - ours_off).abs().max().item(),
        "merge_max_err": merge_err,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        # PEFT's merge with the merged matrices rounded to float16 vs the export: float32 noise only.
        "export_vs_rounded_merge": (export_logits - rounded_logits).abs().max().item() if rounded_logits is not None else None,
    })
    if result["export_vs_rounded_merge"] is not None and result["export_vs_rounded_merge"] > spec["peft_tolerance"]:
        problems.append(f"the export's logits differ from PEFT's merge rounded to float16 by {result['export_vs_rounded_merge']:.3g} > {spec['peft_tolerance']}")
    if result["peft_diff"] > spec["peft_tolerance"]:
        problems.append(f"our adapter-on logits differ from PEFT's by {result['peft_diff']:.3g} > {spec['peft_tolerance']}")
    if result["max_diff"] > spec["tolerance"]:
        problems.append(f"the export's logits differ from ours by {result['max_diff']:.3g} > {spec['tolerance']}")
    if result["adapter_effect"] <= spec.get("min_effect", 10 * spec["tolerance"]):
        problems.append(f"the export's logits differ from the base model's by only {result['adapter_effect']:.3g}: the merge is not in the file, or the check has no teeth")
    print(json.dumps({"ok": not problems, "problems": problems, **result}))
    sys.exit(0 if not problems else 1)


if __name__ == "__main__":
    main()
