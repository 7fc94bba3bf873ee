"""What the `gguf` package's quantizers write for fixed float32 rows: the reference for src/llm/gguf/quantize.ts
(tests/unit/gguf-writer-quantize.test.ts compares bytes).

Writes tests/reference/fixtures/gguf-quantize.json:
  gguf_version   the package version that wrote it
  cases          per case: name, row length, the float32 input (base64, little-endian) and, per type name
                 (F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), the bytes gguf.quantize wrote (base64)

Cases: normal weights at several scales (LLM-like 0.02, unit, large, tiny enough that float16 scales become
subnormal or zero), blocks that are constant (d = 0) or all zero, values on a 4-bit grid (a dequantized Q4_1
block, what requantizing an untouched tensor sees), exact halves (ties in the rounding rules), and float16 edge
values (65504, 65520, subnormals, 2^-25 ties, inf/overflow for F16 only).

Needs the interop venv with `gguf` (tests/reference/requirements-llm.txt). Run from the project root:
    .cache/venv-interop/bin/python tests/reference/gen/gguf_quantize.py
Deterministic: re-running rewrites the same file.
"""

import base64
import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tests/reference/fixtures/gguf-quantize.json"
TYPES = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
BLOCK_TYPES = {T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0}


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def cases(rng: np.random.Generator):
    f = np.float32
    yield "normal 0.02", 64, (rng.standard_normal((4, 64)) * 0.02).astype(f)
    yield "normal 1", 96, rng.standard_normal((3, 96)).astype(f)
    yield "normal 300", 32, (rng.standard_normal((2, 32)) * 300).astype(f)
    yield "tiny (subnormal or zero scales)", 32, (rng.standard_normal((4, 32)) * np.array([[1e-5], [1e-7], [1e-9], [1e-12]])).astype(f)
    const = np.full((3, 32), 0.25, dtype=f)
    const[1] = -1.5
    const[2] = 0
    yield "constant and zero blocks", 32, const
    # A dequantized Q4_1 tensor: values d·q + m with fp16 d, m (what an untouched Q4_1 weight is after reading).
    raw = rng.integers(0, 256, size=(4, 20), dtype=np.uint8)
    raw[:, 0:2] = np.array(rng.uniform(1e-4, 1e-2, 4), dtype=np.float16).view(np.uint8).reshape(4, 2)
    raw[:, 2:4] = np.array(rng.uniform(-0.1, 0, 4), dtype=np.float16).view(np.uint8).reshape(4, 2)
    yield "Q4_1 grid", 32, gguf.dequantize(raw.reshape(1, 80), T.Q4_1).reshape(4, 32).astype(f)
    halves = (np.arange(64, dtype=f) - 31.5).reshape(2, 32)  # x·id lands on .5 exactly for several types
    yield "halves", 32, halves
    ints = (np.arange(64, dtype=f) % 17 - 8).reshape(2, 32)
    yield "small integers", 32, ints


def f16_edges() -> np.ndarray:
    v = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, -65520.0, 1e6, 2.0**-14, 2.0**-24, 2.0**-25, 2.0**-25 * 1.0001,
         3 * 2.0**-25, 5.960464477539063e-08, 1e-10, 0.1, 1 / 3, 2049.0, 2051.0, 4097.0, 1.0009765625, 1.00048828125,
         1.00146484375, -2.0**-15 * 1.5, 6.1e-5, 6.103515625e-05, 3.0e-5]
    v += [0.0] * (32 - len(v))
    return np.array(v, dtype=np.float32).reshape(1, 32)


def main():
    rng = np.random.default_rng(13)
    out = []
    for name, row, x in cases(rng):
        out.append({"name": name, "row": row, "input": b64(x), "bytes": {t.name: b64(gguf.quantize(x, t)) for t in TYPES}})
    edges = f16_edges()
    with np.errstate(over="ignore"):  # 1e6 and 65520 become inf in float16, on purpose
        out.append({"name": "float16 edges", "row": 32, "input": b64(edges), "bytes": {t.name: b64(gguf.quantize(edges, t)) for t in [T.F16, T.BF16]}})
    OUT.write_text(json.dumps({"gguf_version": version("gguf"), "numpy_version": np.__version__, "cases": out}, indent=1) + "\n")
    print(json.dumps({"out": str(OUT.relative_to(ROOT)), "cases": len(out)}))


if __name__ == "__main__":
    main()
