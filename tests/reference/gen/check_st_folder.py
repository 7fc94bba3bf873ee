"""Checks that a folder is a sentence-transformers checkpoint of a Hugging Face BertModel.

    /usr/bin/python3 tests/reference/gen/check_st_folder.py DIR

Reads DIR/config.json and DIR/model.safetensors (with struct + json + numpy: the safetensors package is
not needed) and checks:
  - the safetensors header: F32 tensors, offsets contiguous, metadata {"format": "pt"} (transformers
    refuses files without it);
  - the tensor names and shapes are exactly those of transformers' BertModel for this config
    (embeddings, every encoder layer, and the pooler, which may be absent: sentence-transformers loads
    BertModel with add_pooling_layer=False in some versions); with torch + transformers installed, the
    expected set is taken from BertModel(BertConfig(**config)).state_dict() instead of the table below;
  - values are finite;
  - the sentence-transformers files: modules.json (Transformer, Pooling, optional Normalize, nothing
    else), 1_Pooling/config.json (one of cls / mean, word_embedding_dimension = hidden_size),
    sentence_bert_config.json (max_seq_length ≤ max_position_embeddings), a tokenizer (tokenizer.json
    or vocab.txt) whose vocabulary fits vocab_size.
With transformers importable it also loads the folder with BertModel.from_pretrained and requires no
missing, unexpected or mismatched keys (pooler aside).
Prints one JSON object {"ok": bool, "problems": [...], "tensors": N, "pooler": bool, ...}; exit status 0
when ok, 1 otherwise. With torch importable it also loads every tensor into torch (float32) as a check.
"""

import json
import struct
import sys
from pathlib import Path

import numpy as np


def expected_bert_tensors(c):
    """BertModel's state-dict keys and shapes for a config (transformers' modeling_bert.py)."""
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    out = {
        "embeddings.word_embeddings.weight": [v, h],
        "embeddings.position_embeddings.weight": [c["max_position_embeddings"], h],
        "embeddings.token_type_embeddings.weight": [c.get("type_vocab_size", 2), h],
        "embeddings.LayerNorm.weight": [h],
        "embeddings.LayerNorm.bias": [h],
    }
    for n in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{n}."
        for name in ("query", "key", "value"):
            out[p + f"attention.self.{name}.weight"] = [h, h]
            out[p + f"attention.self.{name}.bias"] = [h]
        out[p + "attention.output.dense.weight"] = [h, h]
        out[p + "attention.output.dense.bias"] = [h]
        out[p + "attention.output.LayerNorm.weight"] = [h]
        out[p + "attention.output.LayerNorm.bias"] = [h]
        out[p + "intermediate.dense.weight"] = [i, h]
        out[p + "intermediate.dense.bias"] = [i]
        out[p + "output.dense.weight"] = [h, i]
        out[p + "output.dense.bias"] = [h]
        out[p + "output.LayerNorm.weight"] = [h]
        out[p + "output.LayerNorm.bias"] = [h]
    pooler = {"pooler.dense.weight": [h, h], "pooler.dense.bias": [h]}
    return out, pooler, "table"


def expected_from_transformers(c):
    try:
        import transformers  # noqa: F401
        from transformers import BertConfig, BertModel
    except Exception:
        return None
    model = BertModel(BertConfig(**{k: v for k, v in c.items() if k not in ("architectures",)}))
    sd = {k: list(t.shape) for k, t in model.state_dict().items() if not k.endswith("position_ids")}
    pooler = {k: s for k, s in sd.items() if k.startswith("pooler.")}
    return {k: s for k, s in sd.items() if k not in pooler}, pooler, f"transformers {transformers.__version__}"


def read_safetensors(path, problems):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None)
    if not meta or meta.get("format") != "pt":
        problems.append(f"safetensors metadata is {meta!r}, transformers wants {{'format': 'pt'}}")
    data = raw[8 + n:]
    tensors = {}
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        if b != end:
            problems.append(f"{name}: data_offsets start at {b}, expected {end}")
        end = e
        if info["dtype"] != "F32":
            problems.append(f"{name}: dtype {info['dtype']}, expected F32")
            continue
        arr = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"])
        tensors[name] = arr
    if end != len(data):
        problems.append(f"{len(data) - end} bytes after the last tensor")
    return tensors


def main(folder):
    folder = Path(folder)
    problems = []
    config = json.loads((folder / "config.json").read_text())
    if config.get("model_type") != "bert":
        problems.append(f"config.json model_type {config.get('model_type')!r}, expected 'bert'")
    tensors = read_safetensors(folder / "model.safetensors", problems)
    got = expected_from_transformers(config)
    required, pooler, source = got if got else expected_bert_tensors(config)
    names = set(tensors)
    missing = sorted(set(required) - names)
    extra = sorted(names - set(required) - set(pooler))
    if missing:
        problems.append(f"missing BertModel tensors: {missing[:5]}{' …' if len(missing) > 5 else ''}")
    if extra:
        problems.append(f"tensors BertModel does not have: {extra[:5]}{' …' if len(extra) > 5 else ''}")
    has_pooler = set(pooler) <= names
    if not has_pooler and set(pooler) & names:
        problems.append("only part of the pooler is present")
    for name, shape in {**required, **pooler}.items():
        if name in tensors and list(tensors[name].shape) != shape:
            problems.append(f"{name}: shape {list(tensors[name].shape)}, BertModel has {shape}")
        if name in tensors and not np.isfinite(tensors[name]).all():
            problems.append(f"{name}: non-finite values")

    torch_loaded = False
    try:
        import torch
        sd = {k: torch.from_numpy(v.copy()) for k, v in tensors.items()}
        torch_loaded = all(t.dtype == torch.float32 for t in sd.values())
    except ImportError:
        pass
    hf_loaded = None
    if got:  # transformers is importable: load the folder the way users will
        from transformers import BertModel
        _, info = BertModel.from_pretrained(str(folder), output_loading_info=True)
        bad = {k: [x for x in v if not x.startswith("pooler.")] for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
        bad = {k: v for k, v in bad.items() if v}
        if bad:
            problems.append(f"BertModel.from_pretrained: {bad}")
        hf_loaded = not bad

    modules = json.loads((folder / "modules.json").read_text())
    kinds = [m["type"].split(".")[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        problems.append(f"modules.json lists {kinds}, expected Transformer, Pooling[, Normalize]")
    pool_dir = next((m["path"] for m in modules if m["type"].endswith("Pooling")), "1_Pooling")
    pooling = json.loads((folder / pool_dir / "config.json").read_text())
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v is True]
    if modes not in (["pooling_mode_cls_token"], ["pooling_mode_mean_tokens"]):
        problems.append(f"pooling modes {modes}, expected exactly one of cls / mean")
    if pooling.get("word_embedding_dimension") != config["hidden_size"]:
        problems.append(f"word_embedding_dimension {pooling.get('word_embedding_dimension')} != hidden_size {config['hidden_size']}")
    sbert = json.loads((folder / "sentence_bert_config.json").read_text())
    if not (2 <= sbert.get("max_seq_length", 0) <= config["max_position_embeddings"]):
        problems.append(f"max_seq_length {sbert.get('max_seq_length')} not in [2, max_position_embeddings]")
    vocab = None
    if (folder / "tokenizer.json").exists():
        vocab = len(json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"])
    elif (folder / "vocab.txt").exists():
        vocab = len((folder / "vocab.txt").read_text().splitlines())
    else:
        problems.append("no tokenizer.json or vocab.txt")
    if vocab is not None and vocab > config["vocab_size"]:
        problems.append(f"tokenizer has {vocab} tokens, vocab_size is {config['vocab_size']}")

    print(json.dumps({
        "ok": not problems,
        "problems": problems,
        "tensors": len(tensors),
        "pooler": has_pooler,
        "expected_from": source,
        "torch_loaded": torch_loaded,
        "from_pretrained": hf_loaded,
        "modules": kinds,
        "pooling": modes,
    }))
    return 0 if not problems else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
