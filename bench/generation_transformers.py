"""Generation peer for bench/generation.bench.ts: transformers (PyTorch, CPU) on the same GGUF, loaded with
from_pretrained(dir, gguf_file=NAME) (dequantized to float32 by the `gguf` package). The prompts come in as
token ids (our encodePrompt's: the same tokens every engine gets), so the GGUF tokenizer converter's
differences (FACTS.md) do not enter. Batches are left-padded with an explicit attention mask.

stdin: {"dir", "file", "threads", "runs": [{"name", "prompts": [[ids]], "max_new_tokens", "greedy",
        "temperature", "top_p", "seed"}], "eos": [ids], "pad": id}
stdout (last line): {"torch", "transformers", "threads", "runs": [{"name", "tokens": [n per prompt],
        "ms", "texts_ids": [[ids]]}]}  ms: prefill + decode of generate(), loading excluded.
"""
import json
import sys
import time


def main():
    req = json.loads(sys.stdin.read())
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(int(req["threads"]))
    import transformers.generation.utils as gen_utils

    # Debian's torch 1.13 on Python 3.11 cannot import torch.distributed.fsdp (a dataclass with a mutable
    # default), which generate() probes to see if the model is FSDP-wrapped; on one CPU process it is not.
    gen_utils.is_fsdp_managed_module = lambda module: False
    model = AutoModelForCausalLM.from_pretrained(req["dir"], gguf_file=req["file"], torch_dtype=torch.float32)
    # transformers 4.46 leaves lm_head random when the GGUF has no output.weight; llama.cpp uses token_embd
    # (tied embeddings, as SmolLM2 was trained): tie them (tests/reference/gen/gguf_smollm2.py does the same).
    model.config.tie_word_embeddings = True
    model.tie_weights()
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    model.eval()
    eos = list(req["eos"])
    pad = int(req["pad"])
    out = []
    for run in req["runs"]:
        prompts = run["prompts"]
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], dtype=torch.long)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], dtype=torch.long)
        kwargs = dict(max_new_tokens=int(run["max_new_tokens"]), eos_token_id=eos, pad_token_id=pad, attention_mask=mask)
        if run["greedy"]:
            kwargs.update(do_sample=False, num_beams=1)
        else:
            kwargs.update(do_sample=True, temperature=float(run["temperature"]), top_p=float(run["top_p"]), top_k=0)
            torch.manual_seed(int(run["seed"]))
        with torch.no_grad():
            t0 = time.perf_counter()
            gen = model.generate(ids, **kwargs)
            ms = (time.perf_counter() - t0) * 1000
        new = gen[:, width:].tolist()
        toks = []
        for row in new:
            n = 0
            for t in row:
                if t in eos:
                    break
                n += 1
            toks.append(row[:n])
        out.append({"name": run["name"], "tokens": [len(t) for t in toks], "ms": ms, "ids": toks})
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__, "threads": torch.get_num_threads(), "runs": out}))


if __name__ == "__main__":
    main()
