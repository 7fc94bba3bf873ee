"""Writes tiny random Qwen2 and Llama 3 decoders as real Hugging Face folders, and what transformers
computes with them.

Outputs (read by tests/reference/qwen2-logits.test.ts):
  tests/reference/fixtures/tiny-qwen2/   Qwen2ForCausalLM: q/k/v biases, GQA (4 heads / 2 kv heads), tied
                                         embeddings, rope_theta 1e6. config.json, generation_config.json,
                                         model.safetensors (save_pretrained: HF key names, no lm_head since
                                         tied), tokenizer.json + tokenizer_config.json (a byte-level BPE trained
                                         here, vocab 300, with a ChatML chat template like Qwen2.5's)
  tests/reference/fixtures/tiny-llama3/  LlamaForCausalLM: untied lm_head, multi-query (4 heads / 1 kv head),
                                         rope_theta 5e5 with llama3 rope_scaling; same tokenizer
  tests/reference/fixtures/tiny-decoders-torch.json
                                         per model: logits for single sequences and for a left-padded and a
                                         right-padded batch (position_ids from the mask, as generate does),
                                         greedy generate() continuations, and the RoPE inverse frequencies;
                                         per tokenizer: ids of a few texts and a rendered chat template

The reference is transformers' own Qwen2ForCausalLM / LlamaForCausalLM (eager attention), run in float64
on the float32 weights that are saved, so the fixture is the exact answer and the tests measure our error.

Run from the project root with Debian's python3-torch (1.13) in a venv that sees it:
    /usr/bin/python3 -m venv --system-site-packages .cache/venv-llm
    .cache/venv-llm/bin/python -m pip install -r tests/reference/requirements-llm.txt
    .cache/venv-llm/bin/python tests/reference/gen/tiny_qwen2.py
Deterministic (fixed seeds): re-running rewrites the same files.
"""

import json
from importlib.metadata import version
from pathlib import Path

import torch
import transformers.generation.utils as generation_utils
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests/reference/fixtures"
OUT_JSON = FIXTURES / "tiny-decoders-torch.json"

SEED = 20251125
VOCAB = 300
# generate() asks whether the model is FSDP-managed, which imports torch.distributed.fsdp: that module
# does not import on Python 3.11 with torch 1.13 (a dataclass default). A plain model is never FSDP-managed.
generation_utils.is_fsdp_managed_module = lambda module: False

INIT_STD = 0.15  # wider than transformers' 0.02 so logits spread and greedy choices have clear margins
NEW_TOKENS = 12

# ChatML, the shape of Qwen2.5-Instruct's template (without its tool-calling branches).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "Please write a passage to answer the question.",
    "Question: what is the role of vitamin D in bone health?",
    "Passage: Vitamin D helps the body absorb calcium, which keeps bones strong.",
    "Once upon a time, there was a little girl named Lily. She loved to play outside.",
    "Dense retrievers encode queries and documents into vectors; the nearest documents are returned.",
]
TOKENIZER_TEXTS = ["Question: what is vitamin D?", "Hello, world! Ünïcödé and emoji 🙂.", " leading space", ""]


def build_tokenizer(out_dir: Path) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE
    )
    fast.save_pretrained(out_dir)
    return fast


def randomise(model: torch.nn.Module, seed: int) -> None:
    """Every parameter random (biases and norm weights too, so that a dropped term shows)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(INIT_STD * torch.randn(p.shape, generator=g))


def positions_from_mask(mask: torch.Tensor) -> torch.Tensor:
    # What transformers' generate() passes for padded batches.
    pos = mask.long().cumsum(-1) - 1
    return pos.masked_fill(mask == 0, 1)


def additive_mask(mask: torch.Tensor) -> torch.Tensor:
    """(B, 1, T, T) causal + padding mask as transformers builds it, but with a finite -1e9 instead of the
    dtype's minimum: eager attention takes its softmax in float32, where float64's minimum becomes -inf and a
    fully masked (padding) row turns into NaN, which then leaks into real positions through the next layer.
    Masked keys get weight exactly 0 either way."""
    T = mask.shape[1]
    allowed = torch.ones(T, T, dtype=torch.bool).tril()[None, None] & mask.bool()[:, None, None, :]
    return torch.zeros(allowed.shape, dtype=torch.float64).masked_fill(~allowed, -1e9)


def rows(x: torch.Tensor) -> list:
    return [[float(f"{v:.9g}") for v in row] for row in x.tolist()]


def run_model(name: str, model, tok: PreTrainedTokenizerFast, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed + 1)
    ids = [torch.randint(0, VOCAB, (n,), generator=g).tolist() for n in (7, 4, 1)]
    f64 = model.double().eval()
    out = {"sequences": []}
    with torch.no_grad():
        for seq in ids:
            logits = f64(torch.tensor([seq])).logits[0]  # (T, V)
            out["sequences"].append({"ids": seq, "logits": rows(logits)})
        for side in ("left", "right"):
            T = max(len(s) for s in ids[:2])
            pad = tok.pad_token_id
            batch, mask = [], []
            for s in ids[:2]:
                p = [pad] * (T - len(s))
                m = [0] * (T - len(s))
                batch.append(p + s if side == "left" else s + p)
                mask.append(m + [1] * len(s) if side == "left" else [1] * len(s) + m)
            bt, mt = torch.tensor(batch), torch.tensor(mask)
            logits = f64(bt, attention_mask=additive_mask(mt), position_ids=positions_from_mask(mt)).logits  # (B, T, V)
            # Padding positions are left out (null): their outputs are meaningless (NaN in eager attention).
            padded = [[r if m else None for r, m in zip(rows(l), mk)] for l, mk in zip(logits, mask)]
            out[f"{side}_padded"] = {"ids": batch, "mask": mask, "logits": padded}
        # Greedy generation, single and as a left-padded batch (float32, as a user would run it).
        f32 = model.float()
        prompts = [ids[0], ids[1]]
        gen = []
        for p in prompts:
            o = f32.generate(torch.tensor([p]), max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=tok.pad_token_id)
            step_logits = f32(o[:, :-1]).logits[0, len(p) - 1 :]  # the logits each choice was made from
            top2 = step_logits.topk(2, dim=-1).values
            gen.append({"prompt": p, "tokens": o[0, len(p) :].tolist(), "min_margin": float((top2[:, 0] - top2[:, 1]).min())})
        out["greedy"] = gen
    out["inv_freq"] = [float(f"{v:.9g}") for v in model.model.rotary_emb.inv_freq.tolist()]
    print(f"{name}: greedy min top-1/top-2 margin {min(x['min_margin'] for x in gen):.4g}")
    return out


def main() -> None:
    torch.manual_seed(SEED)
    results = {
        "generator": "tests/reference/gen/tiny_qwen2.py",
        "versions": {"torch": torch.__version__, "transformers": version("transformers"), "tokenizers": version("tokenizers")},
        "dtype": "float64 forward on the saved float32 weights",
    }
    qdir, ldir = FIXTURES / "tiny-qwen2", FIXTURES / "tiny-llama3"
    tok = build_tokenizer(qdir)
    build_tokenizer(ldir)
    special = {"bos_token_id": None, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}

    qcfg = Qwen2Config(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, rope_theta=1_000_000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=True, use_sliding_window=False, attn_implementation="eager", torch_dtype="float32", **special,
    )
    qwen = Qwen2ForCausalLM(qcfg)
    randomise(qwen, SEED)
    qwen.tie_weights()
    qwen.save_pretrained(qdir, safe_serialization=True)
    results["tiny-qwen2"] = run_model("tiny-qwen2", qwen, tok, SEED)

    lcfg = LlamaConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, max_position_embeddings=64, rope_theta=500_000.0, rms_norm_eps=1e-5,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 16},
        tie_word_embeddings=False, attn_implementation="eager", torch_dtype="float32", **special,
    )
    llama = LlamaForCausalLM(lcfg)
    randomise(llama, SEED + 7)
    llama.save_pretrained(ldir, safe_serialization=True)
    results["tiny-llama3"] = run_model("tiny-llama3", llama, tok, SEED + 7)

    chat = [{"role": "user", "content": "Please write a passage to answer the question.\nQuestion: what is vitamin D?\nPassage:"}]
    rendered = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    results["tokenizer"] = {
        "texts": [{"text": t, "ids": tok.encode(t, add_special_tokens=True)} for t in TOKENIZER_TEXTS],
        "chat": {"messages": chat, "rendered": rendered, "ids": tok.encode(rendered, add_special_tokens=False)},
    }
    OUT_JSON.write_text(json.dumps(results, separators=(",", ":"), allow_nan=False) + "\n")
    print(f"wrote {OUT_JSON.relative_to(ROOT)} ({OUT_JSON.stat().st_size / 1024:.0f} KiB), {qdir.relative_to(ROOT)}, {ldir.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
