"""Loads the tokenizer files that ExpandR Web builds from a GGUF's metadata (src/llm/gguf/tokenizer-json.ts:
tokenizer.json + tokenizer_config.json) in the canonical implementations, Hugging Face `tokenizers` (Rust)
through transformers' AutoTokenizer, and reports what they make of the texts and chat prompts of the SmolLM2
fixture, so tests/reference/gguf-smollm2.test.ts can compare them with llama.cpp's ids.

    python check_gguf_tokenizer.py TOKENIZER_DIR FIXTURE_JSON

FIXTURE_JSON: tests/reference/fixtures/gguf-smollm2.json (texts, chat queries, greedy tokens).
Prints one JSON line {"tokenizer", "texts": [ids per text, add_special_tokens=True], "chat": [{"rendered",
"ids"}], "decoded": [greedy text per prompt, skip_special_tokens]}. Runs in .cache/venv-interop.
"""

import json
import sys

from transformers import AutoTokenizer

Q2D_TEMPLATE = "Please write a passage to answer the question.\nQuestion: {query}\nPassage:"


def main() -> None:
    folder, fixture_path = sys.argv[1], sys.argv[2]
    fixture = json.load(open(fixture_path, encoding="utf8"))
    tok = AutoTokenizer.from_pretrained(folder)
    chat = []
    for c in fixture["chat"]:
        messages = [{"role": "user", "content": Q2D_TEMPLATE.replace("{query}", c["query"])}]
        rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        chat.append({"rendered": rendered, "ids": tok(rendered, add_special_tokens=False).input_ids})
    print(json.dumps({
        "tokenizer": type(tok).__name__,
        "texts": [tok(t["text"], add_special_tokens=True).input_ids for t in fixture["tokenizer"]["texts"]],
        "chat": chat,
        "decoded": [tok.decode(g["tokens"], skip_special_tokens=True) for g in fixture["greedy"]],
    }))


if __name__ == "__main__":
    main()
