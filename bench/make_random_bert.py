"""Random BERT-shaped model folders for the encoder benchmarks, and their ONNX export for transformers.js.

For each shape (MiniLM: 384 wide, 6 layers; BERT-base: 768 wide, 12 layers; tiny: for smoke tests) it
writes .cache/bench-models/<shape>/ with
  config.json, model.safetensors   transformers' BertModel(config) freshly initialised from a fixed seed
                                   and saved by save_pretrained (HF key names, pooler included)
  tokenizer.json, vocab.txt,       a 30,522-token WordPiece vocabulary trained on the SciFact corpus with
  tokenizer_config.json,           HF `tokenizers` (specials at BERT's ids: [PAD] 0, [UNK] 100, [CLS] 101,
  special_tokens_map.json          [SEP] 102, [MASK] 103), filled up with [unusedN] tokens to the size
  onnx/model.onnx                  torch.onnx.export of the same BertModel: inputs input_ids,
                                   attention_mask, token_type_ids; outputs last_hidden_state,
                                   pooler_output; dynamic batch and sequence axes; opset 14
and checks once that onnxruntime's last_hidden_state equals PyTorch's (max abs diff <= 1e-4) on a padded
batch of a shape other than the one traced. No real BERT vocabulary is available offline here, hence the
trained one: what matters for throughput is the vocabulary size (the embedding table) and realistic token
counts per document, which a vocabulary trained on the same corpus gives.

Run from the project root (venv: tests/reference/requirements-llm.txt, with onnx + onnxruntime):
    .cache/venv-llm/bin/python bench/make_random_bert.py                 # minilm and bert-base
    .cache/venv-llm/bin/python bench/make_random_bert.py --shapes tiny   # seconds, for smoke tests
Deterministic (fixed seeds); an existing complete folder is kept unless --force.
"""

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertModel

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".cache/bench-models"
CORPUS = ROOT.parent / "shared/data/beir/scifact/corpus.jsonl.gz"

VOCAB_SIZE = 30522  # bert-base-uncased, all-MiniLM-L6-v2, Contriever
SEED = 20240611
OPSET = 14  # the brief asks 14+; every op BertModel exports to exists there
ONNX_ATOL = 1e-4  # ONNX Runtime vs PyTorch, float32, last hidden state

COMMON = dict(
    vocab_size=VOCAB_SIZE,
    max_position_embeddings=512,
    type_vocab_size=2,
    hidden_act="gelu",
    layer_norm_eps=1e-12,
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    initializer_range=0.02,
    pad_token_id=0,
    position_embedding_type="absolute",
)
SHAPES = {
    # sentence-transformers/all-MiniLM-L6-v2 (and bge-small / e5-small widths)
    "minilm": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
    # bert-base-uncased, facebook/contriever
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    # smoke tests of the benchmark scripts
    "tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64),
}

# BERT's layout: [PAD] 0, [unused0..98] 1..99, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103.
SPECIALS = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
NAMED_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def corpus_texts():
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            yield (d.get("title", "") + " " + d.get("text", "")).strip()


def bert_pipeline(tok):
    """The pipeline transformers' BertTokenizerFast builds from vocab.txt (convert_slow_tokenizer)."""
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def build_vocab(path):
    """WordPiece trained on SciFact, filled with [unusedN] up to VOCAB_SIZE. Cached in `path`."""
    if path.exists():
        return path.read_text(encoding="utf-8").split("\n")[:-1]
    t0 = time.time()
    tok = bert_pipeline(Tokenizer(models.WordPiece(unk_token="[UNK]")))
    trainer = trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIALS, continuing_subword_prefix="##", show_progress=False)
    tok.train_from_iterator(corpus_texts(), trainer)
    by_id = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    vocab = [t for t, _ in by_id]
    assert vocab[: len(SPECIALS)] == SPECIALS, "special tokens not at BERT's ids"
    trained = len(vocab)
    i = 99
    while len(vocab) < VOCAB_SIZE:
        vocab.append(f"[unused{i}]")
        i += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    print(f"vocab: {trained} WordPiece tokens trained on SciFact + {VOCAB_SIZE - trained} filler = {len(vocab)} ({time.time() - t0:.1f} s)")
    return vocab


def write_tokenizer(vocab, d, max_length):
    ids = {t: i for i, t in enumerate(vocab)}
    tok = bert_pipeline(Tokenizer(models.WordPiece(ids, unk_token="[UNK]", max_input_chars_per_word=100)))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tok.add_special_tokens(NAMED_SPECIALS)
    tok.save(str(d / "tokenizer.json"))
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    specials = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    (d / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n")
    cfg = {**specials, "do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True,
           "model_max_length": max_length, "tokenizer_class": "BertTokenizer", "clean_up_tokenization_spaces": True}
    (d / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n")


def export_onnx(model, d):
    """torch.onnx.export with dynamic batch and sequence axes, traced on a padded (2, 16) batch."""
    (d / "onnx").mkdir(exist_ok=True)
    ids = torch.randint(1000, VOCAB_SIZE, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 10:] = 0
    axes = {0: "batch_size", 1: "sequence_length"}
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, mask, torch.zeros_like(ids)),
            str(d / "onnx/model.onnx"),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state", "pooler_output"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                          "last_hidden_state": axes, "pooler_output": {0: "batch_size"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )


def check_onnx(model, d):
    """ONNX Runtime (CPU) vs PyTorch on a (3, 37) batch with padding: max abs diff of last_hidden_state."""
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(str(d / "onnx/model.onnx"))
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(1000, VOCAB_SIZE, (3, 37), generator=g)
    mask = torch.ones(3, 37, dtype=torch.long)
    mask[1, 20:] = 0
    mask[2, 5:] = 0
    types = torch.zeros_like(ids)
    with torch.no_grad():
        want = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state.numpy()
    sess = ort.InferenceSession(str(d / "onnx/model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(["last_hidden_state"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "token_type_ids": types.numpy()})[0]
    diff = float(np.abs(got - want).max())
    ok = diff <= ONNX_ATOL
    print(f"  onnx check: max |onnxruntime - torch| = {diff:.2e} on a (3, 37) padded batch ({'ok' if ok else 'FAILED'}, tolerance {ONNX_ATOL:g})")
    if not ok:
        raise SystemExit(f"ONNX export of {d} differs from PyTorch by {diff}")


def make(shape, vocab, force, check):
    d = OUT / shape
    done = all((d / f).exists() for f in ("config.json", "model.safetensors", "tokenizer.json", "onnx/model.onnx"))
    if done and not force:
        print(f"{shape}: {d.relative_to(ROOT)} exists (--force to rebuild)")
        return
    t0 = time.time()
    d.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    # Eager attention: the SDPA path needs torch >= 2, and eager is what exports to plain ONNX ops.
    config = BertConfig(**COMMON, **SHAPES[shape], architectures=["BertModel"], attn_implementation="eager")
    model = BertModel(config).eval()
    model.save_pretrained(str(d), safe_serialization=True)
    write_tokenizer(vocab, d, COMMON["max_position_embeddings"])
    export_onnx(model, d)
    params = sum(p.numel() for p in model.parameters())
    mb = (d / "onnx/model.onnx").stat().st_size / 1e6
    print(f"{shape}: {params / 1e6:.1f} M parameters, onnx {mb:.0f} MB → {d.relative_to(ROOT)} ({time.time() - t0:.1f} s)")
    if check:
        check_onnx(model, d)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="minilm,bert-base", help=f"comma-separated, of {', '.join(SHAPES)}")
    ap.add_argument("--force", action="store_true", help="rebuild folders that exist")
    ap.add_argument("--no-check", action="store_true", help="skip the onnxruntime vs PyTorch check")
    args = ap.parse_args()
    shapes = args.shapes.split(",")
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        raise SystemExit(f"unknown shape(s) {unknown}; choose from {list(SHAPES)}")
    vocab = build_vocab(OUT / "vocab.txt")
    for s in shapes:
        make(s, vocab, args.force, not args.no_check)


if __name__ == "__main__":
    main()
