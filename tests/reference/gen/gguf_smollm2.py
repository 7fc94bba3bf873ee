"""What transformers makes of the real SmolLM2-135M-Instruct GGUF: the outside reference for our GGUF
tokenizer, chat template and decoder (tests/reference/gguf-smollm2.test.ts).

transformers reads the file with `from_pretrained(dir, gguf_file=NAME)`: metadata → LlamaConfig, tokenizer
metadata → a fast tokenizer, every tensor dequantized to float32 by the `gguf` package with the q/k row
permutation of llama.cpp's converter undone. The model then runs in float64 on those float32 weights, so
the logits here are the exact answer for the weights and the test measures our float32 error.

Writes tests/reference/fixtures/gguf-smollm2.json:
  file            size and sha256 of the .gguf the fixture belongs to
  config          what transformers read from the metadata (heads, eps, rope base, ...)
  tokenizer       per text: transformers' ids (add_special_tokens=False) and what add_special_tokens=True
                  prepends; the tokenizer's bos/eos/pad as transformers reports them
  chat            the Q2D chat prompt of three SciFact test queries: rendered string (apply_chat_template,
                  add_generation_prompt=True, the template's default system message) and ids
  last_logits     the full last-position logit vector of chat[0], float32 little-endian in base64 (the
                  float64 answer rounded to float32: ~1e-6 at these magnitudes, 100x under the tolerance)
  prefix          the same for the first PREFIX tokens of chat[0]
  greedy          per chat prompt: 48 argmax tokens (no stop at EOS), their decoded text, and teacher-forced
                  over prompt + those tokens: the top-1 id and the top-1/top-2 gap at each step
  logprob         per chat prompt: log π(token | prefix) of the 48 greedy tokens and their sum; and of one
                  fixed continuation written by hand for chat[0]

transformers' GGUF tokenizer departs from the file's own (llama.cpp's) in known ways (FACTS.md): it uses the
plain GPT-2 regex instead of `tokenizer.ggml.pre = smollm` (digits split first), reports eos as
<|im_start|>, and prepends BOS with add_special_tokens=True although the GGUF says add_bos false. transformers
4.46 also leaves lm_head random when the file has no output.weight (tied): the script ties it, as llama.cpp
reads such a file. The ids of the GGUF's own tokenizer come from llama.cpp (gen/gguf_smollm2_llamacpp.mjs); the test follows llama.cpp
and checks that the two references differ exactly where FACTS.md says they do.

Needs the interop venv with the `gguf` package (tests/reference/requirements-llm.txt) and the model
(npm run -s expandr -- fetch-model smollm2-135m-instruct). Run from the project root:
    .cache/venv-interop/bin/python tests/reference/gen/gguf_smollm2.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]
Deterministic: re-running rewrites the same file. Takes a few minutes on 2 cores (float64 decoding).
"""

import base64
import hashlib
import json
import sys
from importlib.metadata import version
from pathlib import Path

import torch
from gguf import GGUFReader
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_GGUF = ROOT / ".cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
OUT_JSON = ROOT / "tests/reference/fixtures/gguf-smollm2.json"

# src/pipeline/prompts.ts Q2D_TEMPLATE (DESIGN.md §1).
Q2D_TEMPLATE = "Please write a passage to answer the question.\nQuestion: {query}\nPassage:"
# SciFact test queries 1, 13 and 36 (../shared/data/beir/scifact/queries.jsonl).
QUERIES = [
    "0-dimensional biomaterials show inductive properties.",
    "5% of perinatal mortality is due to low birth weight.",
    "A deficiency of vitamin B12 increases blood levels of homocysteine.",
]
NEW_TOKENS = 48
# Logits of the first PREFIX tokens of chat[0] too: the plain-JS cpu backend checks those (a 56-token
# forward there takes most of a minute on a shared core).
PREFIX = 16
# A continuation of chat[0] that is not the model's own argmax (scored token by token).
GIVEN_CONTINUATION = (
    "Zero-dimensional biomaterials, such as nanoparticles and quantum dots, can induce bone formation "
    "by releasing calcium and phosphate ions.<|im_end|>"
)
TEXTS = [
    "Hello world! 123",
    "3.5 mg/kg of body weight, 0.25 µg/mL",
    "café naïve résumé Zürich",
    "α-synuclein β2-microglobulin Δ9-THC",
    " leading space",
    "   three leading spaces",
    "line one\nline two\n\nline four\n",
    "def f(x):\n    return x ** 2  # square\n",
    "Dose:  10 mg,   250 mL  and\t 5 h",
    "a  1",
    "trailing spaces   ",
    "don't you'll I'M they've",
    "COVID-19 vaccines in 2021: 95% efficacy (p<0.001)",
    "1234567890 12,345.67",
    "🧬 DNA 中文 日本語",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|><repo_name>x<file_sep>",
]


def f32_base64(t: torch.Tensor) -> str:
    return base64.b64encode(t.to(torch.float32).numpy().astype("<f4").tobytes()).decode()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main() -> None:
    gguf = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_GGUF
    if not gguf.exists():
        sys.exit(f"{gguf}: no such file. Fetch it: npm run -s expandr -- fetch-model smollm2-135m-instruct")
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, torch_dtype=torch.float32)
    # transformers 4.46 leaves lm_head randomly initialised when the GGUF has no output.weight (it warns
    # "newly initialized: ['lm_head.weight']"); llama.cpp then uses token_embd as the output matrix, i.e.
    # tied embeddings, which is what SmolLM2 was trained with. Tie them as llama.cpp does.
    if not any(t.name == "output.weight" for t in GGUFReader(gguf).tensors):
        model.config.tie_word_embeddings = True
        model.tie_weights()
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    model = model.double().eval()
    cfg = model.config

    texts = []
    for text in TEXTS:
        plain = tok(text, add_special_tokens=False).input_ids
        special = tok(text, add_special_tokens=True).input_ids
        texts.append({"text": text, "ids": plain, "prepended_with_special_tokens": special[: len(special) - len(plain)]})

    chats = []
    for q in QUERIES:
        messages = [{"role": "user", "content": Q2D_TEMPLATE.replace("{query}", q)}]
        rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        chats.append({"query": q, "rendered": rendered, "ids": tok(rendered, add_special_tokens=False).input_ids})

    @torch.no_grad()
    def logits_of(ids):
        return model(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long)).logits[0]

    @torch.no_grad()
    def greedy(ids):
        # By hand rather than generate(): no stop at EOS, no attention-mask guessing (FACTS.md).
        out = model(torch.tensor([ids]), use_cache=True)
        past, nxt, tokens = out.past_key_values, int(out.logits[0, -1].argmax()), []
        for _ in range(NEW_TOKENS):
            tokens.append(nxt)
            out = model(torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
            past, nxt = out.past_key_values, int(out.logits[0, -1].argmax())
        return tokens

    def scored(prompt, cont):
        lp = torch.log_softmax(logits_of(prompt + cont), dim=-1)
        rows = lp[len(prompt) - 1 : len(prompt) + len(cont) - 1]
        return rows, [float(rows[i, t]) for i, t in enumerate(cont)]

    greedy_out, logprob_out = [], []
    for c in chats:
        tokens = greedy(c["ids"])
        rows, lps = scored(c["ids"], tokens)
        top2 = rows.topk(2, dim=-1)
        greedy_out.append({
            "tokens": tokens,
            "text": tok.decode(tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False),
            "teacher_forced_top1": top2.indices[:, 0].tolist(),
            "top2_gap": [round(float(g), 6) for g in (top2.values[:, 0] - top2.values[:, 1])],
        })
        logprob_out.append({"tokens": tokens, "token_logprobs": [round(x, 8) for x in lps], "sum": sum(lps)})
    given = tok(GIVEN_CONTINUATION, add_special_tokens=False).input_ids
    _, given_lps = scored(chats[0]["ids"], given)

    last = logits_of(chats[0]["ids"])[-1]
    fixture = {
        "generator": "tests/reference/gen/gguf_smollm2.py",
        "versions": {"transformers": version("transformers"), "gguf": version("gguf"), "torch": torch.__version__},
        "file": {"name": gguf.name, "size": gguf.stat().st_size, "sha256": sha256(gguf)},
        "config": {
            "num_hidden_layers": cfg.num_hidden_layers,
            "hidden_size": cfg.hidden_size,
            "intermediate_size": cfg.intermediate_size,
            "num_attention_heads": cfg.num_attention_heads,
            "num_key_value_heads": cfg.num_key_value_heads,
            "head_dim": getattr(cfg, "head_dim", cfg.hidden_size // cfg.num_attention_heads),
            "rope_theta": cfg.rope_theta,
            "rope_scaling": cfg.rope_scaling,
            "rms_norm_eps": cfg.rms_norm_eps,
            "max_position_embeddings": cfg.max_position_embeddings,
            "vocab_size": cfg.vocab_size,
            "tie_word_embeddings": cfg.tie_word_embeddings,
            "bos_token_id": cfg.bos_token_id,
            "eos_token_id": cfg.eos_token_id,
        },
        "tokenizer": {
            "bos_token": tok.bos_token, "eos_token": tok.eos_token, "pad_token": tok.pad_token,
            "texts": texts,
        },
        "chat": chats,
        "last_logits": f32_base64(last),
        "prefix": {"length": PREFIX, "logits": f32_base64(logits_of(chats[0]["ids"][:PREFIX])[-1])},
        "greedy": greedy_out,
        "logprob": {
            "greedy": logprob_out,
            "given": {"text": GIVEN_CONTINUATION, "tokens": given, "token_logprobs": [round(x, 8) for x in given_lps], "sum": sum(given_lps)},
        },
    }
    OUT_JSON.write_text(json.dumps(fixture, ensure_ascii=False) + "\n")
    print(f"wrote {OUT_JSON.relative_to(ROOT)} ({OUT_JSON.stat().st_size} bytes)")
    for g in greedy_out:
        print(repr(g["text"][:120]), "min gap", min(g["top2_gap"]))


if __name__ == "__main__":
    main()
