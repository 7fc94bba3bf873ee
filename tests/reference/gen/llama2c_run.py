"""Writes tests/reference/fixtures/llama2c-stories260k.json: what llama2.c's own run.c computes with the
shipped stories260K model (../shared/models/stories260K), read by tests/reference/llama-stories260k.test.ts.

Compiles run.c (karpathy/llama2.c, commit 350e04f, MIT) with a small harness that #includes it and calls
its functions directly:
  - encode(text, bos=1, eos=0) for a few texts (ASCII, UTF-8 with byte fallback, empty);
  - logits of forward() at positions 0..15 along the greedy path from BOS;
  - the token ids of generate()'s loop for greedy and for temperature/top-p sampling with run.c's
    xorshift RNG (seed 42), and the text generate() itself prints for a prompt.

Run from the project root (gcc and Python 3 only):
    python3 tests/reference/gen/llama2c_run.py /path/to/llama2.c/run.c
Deterministic: re-running rewrites the same file.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MODEL = ROOT.parent / "shared/models/stories260K"
OUT = ROOT / "tests/reference/fixtures/llama2c-stories260k.json"

TEXTS = ["Once upon a time", "Lily and Tom played with a big red ball.", "héllo wörld ☃ 🙂", "  two  spaces", ""]
LOGIT_POSITIONS = 16
SAMPLING = [  # (prompt, temperature, topp, seed, steps)
    ("", 0.0, 0.9, 42, 256),
    ("Once upon a time", 0.0, 0.9, 42, 64),
    ("", 0.8, 0.9, 42, 128),
    ("", 1.0, 1.0, 7, 128),
    ("The dog", 1.1, 0.5, 123, 96),
]

HARNESS = r"""
#define TESTING
#include "run.c"

static void ids_of(Transformer* t, Tokenizer* tk, Sampler* s, char* prompt, int steps) {
    // generate()'s loop, printing ids instead of text
    int* pt = malloc((strlen(prompt) + 3) * sizeof(int)); int np = 0;
    encode(tk, prompt, 1, 0, pt, &np);
    int token = pt[0], pos = 0, next;
    printf("[");
    while (pos < steps) {
        float* logits = forward(t, token, pos);
        next = pos < np - 1 ? pt[pos + 1] : sample(s, logits);
        pos++;
        if (next == 1) break;
        printf(pos > 1 ? ",%d" : "%d", next);
        token = next;
    }
    printf("]\n");
    free(pt);
}

int main(int argc, char** argv) {
    Transformer t; build_transformer(&t, argv[1]);
    Tokenizer tk; build_tokenizer(&tk, argv[2], t.config.vocab_size);
    char* mode = argv[3];
    if (strcmp(mode, "encode") == 0) {
        int* ids = malloc((strlen(argv[4]) + 3) * sizeof(int)); int n = 0;
        encode(&tk, argv[4], 1, 0, ids, &n);
        printf("[");
        for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
        printf("]\n");
    } else if (strcmp(mode, "logits") == 0) {
        int n = atoi(argv[4]), token = 1;
        printf("[");
        for (int pos = 0; pos < n; pos++) {
            float* l = forward(&t, token, pos);
            printf(pos ? ",[" : "[");
            for (int i = 0; i < t.config.vocab_size; i++) printf(i ? ",%.9g" : "%.9g", l[i]);
            printf("]");
            token = sample_argmax(l, t.config.vocab_size);
        }
        printf("]\n");
    } else {
        Sampler s; build_sampler(&s, t.config.vocab_size, atof(argv[5]), atof(argv[6]), strtoull(argv[7], 0, 10));
        if (strcmp(mode, "ids") == 0) ids_of(&t, &tk, &s, argv[4], atoi(argv[8]));
        else generate(&t, &tk, &s, argv[4], atoi(argv[8]));
        free_sampler(&s);
    }
    free_tokenizer(&tk); free_transformer(&t);
    return 0;
}
"""


def main() -> None:
    run_c = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        harness = Path(tmp) / "harness.c"
        harness.write_text(HARNESS)
        exe = Path(tmp) / "harness"
        subprocess.run(["gcc", "-O2", "-I", str(run_c.parent), "-o", str(exe), str(harness), "-lm"], check=True)
        bin_, tok = str(MODEL / "stories260K.bin"), str(MODEL / "tok512.bin")

        def call(*args: str) -> str:
            return subprocess.run([str(exe), bin_, tok, *args], check=True, capture_output=True).stdout.decode("utf-8")

        out = {
            "generator": "tests/reference/gen/llama2c_run.py",
            "run_c": "karpathy/llama2.c run.c @ 350e04f, compiled with gcc -O2",
            "encode": [{"text": t, "ids": json.loads(call("encode", t))} for t in TEXTS],
            "logits": json.loads(call("logits", str(LOGIT_POSITIONS))),
            "samples": [],
        }
        for prompt, temp, topp, seed, steps in SAMPLING:
            args = (prompt, str(temp), str(topp), str(seed), str(steps))
            out["samples"].append({
                "prompt": prompt, "temperature": temp, "topp": topp, "seed": seed, "steps": steps,
                "ids": json.loads(call("ids", *args)),
                "stdout": call("generate", *args),
            })
    OUT.write_text(json.dumps(out, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
