"""Writes a tiny random BertModel as real Hugging Face files and what PyTorch computes with it.

Outputs (read by tests/reference/bert-*.test.ts and tests/browser/bert-webgpu.test.ts):
  tests/reference/fixtures/tiny-bert/    config.json, model.safetensors (HF BertModel key names, with a
                                         pooler), vocab.txt, tokenizer.json, tokenizer_config.json,
                                         special_tokens_map.json, and sentence-transformers files
                                         (modules.json, sentence_bert_config.json, 1_Pooling/config.json)
  tests/reference/fixtures/tiny-bert-torch.json   texts, token ids (HF `tokenizers`, the Rust library),
                                         last hidden states, mean/cls pooled embeddings, and gradients of
                                         an InfoNCE loss w.r.t. named weights (torch autograd)

The reference forward is built from PyTorch's own layers (nn.Embedding, nn.LayerNorm,
nn.TransformerEncoderLayer with exact GELU, post-norm, key padding mask), NOT from our TypeScript. It runs
in float64 on the float32 weights, so the fixture is the exact answer and the tests measure our error.

Run from the project root with Debian's python3-torch (1.13) and the two small packages it lacks:
    /usr/bin/python3 -m venv --system-site-packages .cache/venv-torch
    .cache/venv-torch/bin/pip install -r tests/reference/requirements-torch.txt
    .cache/venv-torch/bin/python tests/reference/gen/tiny_bert.py
Deterministic (fixed seed): re-running rewrites the same files.
"""

import json
import math
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from torch import nn
from safetensors.numpy import save_file
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders

ROOT = Path(__file__).resolve().parents[3]
OUT_DIR = ROOT / "tests/reference/fixtures/tiny-bert"
OUT_JSON = ROOT / "tests/reference/fixtures/tiny-bert-torch.json"

SEED = 1234
MAX_LENGTH = 16  # truncation length used for the fixture texts (the model allows 64 positions)
TEMPERATURE = 0.05  # InfoNCE temperature for the gradient check
CONFIG = {
    "architectures": ["BertModel"],
    "model_type": "bert",
    "vocab_size": 0,  # set from the vocabulary below
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 64,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "torch_dtype": "float32",
}

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the an of to in and is are was for on with by as at from that this it be or which "
    "query queries document documents passage passages dense retrieval retriever search model models "
    "language large expansion expand train training contrastive loss batch negative negatives "
    "cell cells protein gene genes cancer risk study patients increase increased reduce effect "
    "vitamin cafe science fact claim evidence browser web gpu what how why does do can answer"
).split()
SUBWORDS = "##ed ##ing ##er ##ly ##al ##ion ##ive ##es ##ment ##ness ##ity ##ize ##ful".split()
PUNCT = list(".,;:!?'\"()-[]/%&")


def build_vocab():
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    digits = [str(d) for d in range(10)]
    vocab = SPECIALS + PUNCT + letters + digits + ["##" + c for c in letters + digits] + WORDS + SUBWORDS
    assert len(vocab) == len(set(vocab)), "duplicate vocabulary entries"
    return vocab


def build_tokenizer(vocab):
    """The same pipeline transformers' BertTokenizerFast builds from vocab.txt (convert_slow_tokenizer)."""
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(SPECIALS)
    return tok


TEXTS = [
    "What is dense retrieval?",
    "Café science: vitamin D and cancer risk.",
    "北京 gpu search",  # CJK characters are split and unknown here: [UNK] [UNK]
    "The retriever is trained with a contrastive loss on queries and passages; negatives come from "
    "the batch, and the model learns which documents answer which queries.",  # longer than MAX_LENGTH
    "Expansions",
]
QUERIES = ["what increases cancer risk?", "how does dense retrieval work", "vitamin effect on cells"]
DOCS = [
    "Smoking increased cancer risk in the study patients.",
    "A dense retriever encodes queries and passages with a language model.",
    "Vitamin D reduces the effect of the protein on cells.",
]
GRAD_KEYS = [
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "encoder.layer.0.attention.self.query.weight",
    "encoder.layer.0.attention.self.value.bias",
    "encoder.layer.1.intermediate.dense.weight",
    "encoder.layer.1.output.LayerNorm.weight",
    "encoder.layer.1.output.LayerNorm.bias",
]


def random_weights(cfg, rng):
    """HF BertModel state-dict names and shapes, filled with values large enough that attention is not
    uniform and LayerNorm scales/shifts matter (a swapped gamma/beta or a wrong mask changes outputs)."""
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    w = {}

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def ln(prefix):
        w[prefix + ".weight"] = (1 + normal((d,), 0.2)).astype(np.float32)
        w[prefix + ".bias"] = normal((d,), 0.1)

    def linear(prefix, out_f, in_f):
        w[prefix + ".weight"] = normal((out_f, in_f), 1 / math.sqrt(in_f))
        w[prefix + ".bias"] = normal((out_f,), 0.1)

    w["embeddings.word_embeddings.weight"] = normal((v, d), 0.5)
    w["embeddings.position_embeddings.weight"] = normal((cfg["max_position_embeddings"], d), 0.3)
    w["embeddings.token_type_embeddings.weight"] = normal((cfg["type_vocab_size"], d), 0.3)
    ln("embeddings.LayerNorm")
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            linear(p + "attention.self." + name, d, d)
        # Scale q so that scores are peaky: a wrong attention mask then shows up in the outputs.
        w[p + "attention.self.query.weight"] *= 3
        linear(p + "attention.output.dense", d, d)
        ln(p + "attention.output.LayerNorm")
        linear(p + "intermediate.dense", f, d)
        linear(p + "output.dense", d, f)
        ln(p + "output.LayerNorm")
    linear("pooler.dense", d, d)  # present in real checkpoints; our encoder ignores it
    return w


class TorchReference(nn.Module):
    """BERT built from PyTorch's layers: embeddings + LayerNorm, then post-norm TransformerEncoderLayers."""

    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.word = nn.Embedding(cfg["vocab_size"], d)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], d)
        self.typ = nn.Embedding(cfg["type_vocab_size"], d)
        self.ln = nn.LayerNorm(d, eps=eps)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d, cfg["num_attention_heads"], cfg["intermediate_size"], dropout=0.0, activation="gelu",
                layer_norm_eps=eps, batch_first=True, norm_first=False,
            )
            for _ in range(cfg["num_hidden_layers"])
        )

    def load_hf(self, w):
        t = lambda k: torch.from_numpy(w[k].astype(np.float64))  # noqa: E731
        with torch.no_grad():
            self.word.weight.copy_(t("embeddings.word_embeddings.weight"))
            self.pos.weight.copy_(t("embeddings.position_embeddings.weight"))
            self.typ.weight.copy_(t("embeddings.token_type_embeddings.weight"))
            self.ln.weight.copy_(t("embeddings.LayerNorm.weight"))
            self.ln.bias.copy_(t("embeddings.LayerNorm.bias"))
            for i, layer in enumerate(self.layers):
                p = f"encoder.layer.{i}."
                qkv = [p + f"attention.self.{n}" for n in ("query", "key", "value")]
                layer.self_attn.in_proj_weight.copy_(torch.cat([t(k + ".weight") for k in qkv]))
                layer.self_attn.in_proj_bias.copy_(torch.cat([t(k + ".bias") for k in qkv]))
                layer.self_attn.out_proj.weight.copy_(t(p + "attention.output.dense.weight"))
                layer.self_attn.out_proj.bias.copy_(t(p + "attention.output.dense.bias"))
                layer.norm1.weight.copy_(t(p + "attention.output.LayerNorm.weight"))
                layer.norm1.bias.copy_(t(p + "attention.output.LayerNorm.bias"))
                layer.linear1.weight.copy_(t(p + "intermediate.dense.weight"))
                layer.linear1.bias.copy_(t(p + "intermediate.dense.bias"))
                layer.linear2.weight.copy_(t(p + "output.dense.weight"))
                layer.linear2.bias.copy_(t(p + "output.dense.bias"))
                layer.norm2.weight.copy_(t(p + "output.LayerNorm.weight"))
                layer.norm2.bias.copy_(t(p + "output.LayerNorm.bias"))

    def hf_grad(self, key):
        """The gradient of an HF-named weight, read from the PyTorch parameter that holds it."""
        if key.startswith("embeddings."):
            mod = {"word_embeddings": self.word, "position_embeddings": self.pos,
                   "token_type_embeddings": self.typ, "LayerNorm": self.ln}[key.split(".")[1]]
            return getattr(mod, key.split(".")[-1]).grad
        parts = key.split(".")
        layer, rest = self.layers[int(parts[2])], ".".join(parts[3:])
        d = self.ln.weight.shape[0]
        for j, n in enumerate(("query", "key", "value")):
            if rest == f"attention.self.{n}.weight":
                return layer.self_attn.in_proj_weight.grad[j * d:(j + 1) * d]
            if rest == f"attention.self.{n}.bias":
                return layer.self_attn.in_proj_bias.grad[j * d:(j + 1) * d]
        table = {
            "attention.output.dense": layer.self_attn.out_proj, "attention.output.LayerNorm": layer.norm1,
            "intermediate.dense": layer.linear1, "output.dense": layer.linear2, "output.LayerNorm": layer.norm2,
        }
        return getattr(table[".".join(parts[3:-1])], parts[-1]).grad

    def forward(self, ids, mask, types):
        # ids, mask, types: (B, T) -> last hidden states (B, T, d)
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.ln(self.word(ids) + self.pos(pos) + self.typ(types))
        pad = mask == 0  # True where a key is padding
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=pad)
        return x


def mean_pool(h, mask):
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)


def encode_batch(tok, texts):
    """Python semantics: truncate to MAX_LENGTH keeping [CLS] ... [SEP], pad to the longest."""
    tok.enable_truncation(max_length=MAX_LENGTH)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(texts)
    ids = torch.tensor([e.ids for e in enc])
    mask = torch.tensor([e.attention_mask for e in enc])
    types = torch.tensor([e.type_ids for e in enc])
    return ids, mask, types


def floats(t):
    """Flat list, 9 significant digits (float64 truth to ~1e-9 relative; keeps the JSON small)."""
    return [float(f"{x:.9g}") for x in np.asarray(t.detach(), dtype=np.float64).reshape(-1)]


def main():
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    vocab = build_vocab()
    cfg = dict(CONFIG, vocab_size=len(vocab))
    weights = random_weights(cfg, rng)
    tok = build_tokenizer(vocab)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "1_Pooling").mkdir(exist_ok=True)
    write_json(OUT_DIR / "config.json", cfg)
    save_file(dict(sorted(weights.items())), str(OUT_DIR / "model.safetensors"), metadata={"format": "pt"})
    (OUT_DIR / "vocab.txt").write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
    tok.save(str(OUT_DIR / "tokenizer.json"))
    specials = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    write_json(OUT_DIR / "special_tokens_map.json", specials)
    write_json(OUT_DIR / "tokenizer_config.json", dict(
        specials, do_lower_case=True, strip_accents=None, tokenize_chinese_chars=True,
        model_max_length=cfg["max_position_embeddings"], tokenizer_class="BertTokenizer", clean_up_tokenization_spaces=True))
    # sentence-transformers layout (their file names and fields): mean pooling, no Normalize module.
    write_json(OUT_DIR / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ])
    write_json(OUT_DIR / "sentence_bert_config.json", {"max_seq_length": MAX_LENGTH, "do_lower_case": False})
    write_json(OUT_DIR / "1_Pooling/config.json", {
        "word_embedding_dimension": cfg["hidden_size"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False, "include_prompt": True})

    ref = TorchReference(cfg).double()
    ref.load_hf(weights)
    ref.train()  # dropout is 0 everywhere; train mode keeps torch off its fused "fast path"

    ids, mask, types = encode_batch(tok, TEXTS)
    with torch.no_grad():
        h = ref(ids, mask, types)
    mean = mean_pool(h, mask)
    cls = h[:, 0]

    # InfoNCE (Eq. 9 form): normalised mean-pooled queries vs docs, in-batch negatives, temperature.
    ref.zero_grad()
    qids, qmask, qtypes = encode_batch(tok, QUERIES)
    q = nn.functional.normalize(mean_pool(ref(qids, qmask, qtypes), qmask), dim=-1)
    dids, dmask, dtypes = encode_batch(tok, DOCS)
    d = nn.functional.normalize(mean_pool(ref(dids, dmask, dtypes), dmask), dim=-1)
    loss = nn.functional.cross_entropy(q @ d.T / TEMPERATURE, torch.arange(len(QUERIES)))
    loss.backward()

    fixture = {
        "generator": "tests/reference/gen/tiny_bert.py",
        "versions": {"torch": torch.__version__, "numpy": np.__version__, "tokenizers": version("tokenizers"), "safetensors": version("safetensors")},
        "note": "float64 PyTorch reference (nn.TransformerEncoderLayer, gelu, post-norm) on the float32 weights in tiny-bert/model.safetensors",
        "maxLength": MAX_LENGTH,
        "texts": TEXTS,
        "inputIds": ids.tolist(),
        "attentionMask": mask.tolist(),
        "tokenTypeIds": types.tolist(),
        "shape": list(h.shape),
        "lastHiddenState": floats(h),
        "meanPooled": floats(mean),
        "clsPooled": floats(cls),
        "infonce": {
            "queries": QUERIES,
            "docs": DOCS,
            "temperature": TEMPERATURE,
            "pooling": "mean",
            "normalize": True,
            "loss": float(loss),
            "grads": {k: {"shape": list(ref.hf_grad(k).shape), "data": floats(ref.hf_grad(k))} for k in GRAD_KEYS},
        },
    }
    OUT_JSON.write_text(json.dumps(fixture, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT_DIR.relative_to(ROOT)}/ and {OUT_JSON.relative_to(ROOT)} ({OUT_JSON.stat().st_size} bytes), loss {float(loss):.6f}")


def write_json(path, obj):
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
