"""A tiny GGUF file written by the `gguf` package's GGUFWriter: the byte-for-byte reference for
src/llm/gguf/writer.ts + quantize.ts (tests/unit/gguf-writer.test.ts writes the same content and compares).

Writes tests/reference/fixtures/gguf-writer-tiny.json:
  gguf_version  the package version that wrote it
  metadata      [{key, type, itemType?, value}] in file order: one key of every scalar type (64-bit integers as
                decimal strings), a string with non-ASCII text, arrays of u8/i32/f32/bool/string, and an array of
                i32 arrays (nested); types are gguf_type names
  tensors       [{name, type, shape (numpy order), input: float32 base64}]: F32 1-D, F16, BF16, Q8_0, Q4_0,
                Q4_1, Q5_0 and Q5_1 2-D (quantized by gguf.quantize), sizes that leave padding between tensors
  file          the whole .gguf (base64)

Run from the project root: .cache/venv-interop/bin/python tests/reference/gen/gguf_writer_tiny.py
Deterministic: re-running rewrites the same file.
"""

import base64
import json
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tests/reference/fixtures/gguf-writer-tiny.json"

SCALARS = [
    ("test.u8", V.UINT8, 200), ("test.i8", V.INT8, -100), ("test.u16", V.UINT16, 60000), ("test.i16", V.INT16, -30000),
    ("test.u32", V.UINT32, 4000000000), ("test.i32", V.INT32, -2000000000), ("test.f32", V.FLOAT32, 1e-5),
    ("test.bool", V.BOOL, True), ("test.u64", V.UINT64, 2**63 + 5), ("test.i64", V.INT64, -(2**62) - 3),
    ("test.f64", V.FLOAT64, 0.1), ("test.string", V.STRING, "ExpandR · Ελληνικά · 日本語\n"),
]
ARRAYS = [
    ("test.array.u8", V.UINT8, [0, 1, 255]), ("test.array.i32", V.INT32, [-1, 0, 7, 2**31 - 1]),
    ("test.array.f32", V.FLOAT32, [0.5, -2.25, 3e-8]), ("test.array.bool", V.BOOL, [True, False, True]),
    ("test.array.string", V.STRING, ["<|im_start|>", "Ġthe", "", "ü"]),
]
NESTED = ("test.array.nested", [[1, 2, 3], [-4], [5, 6]])  # GGUFWriter types inner ints as INT32
TENSORS = [("norm.weight", T.F32, (40,)), ("f16.weight", T.F16, (3, 32)), ("bf16.weight", T.BF16, (2, 16)), ("q8_0.weight", T.Q8_0, (3, 64)),
           ("q4_0.weight", T.Q4_0, (2, 32)), ("q4_1.weight", T.Q4_1, (5, 64)), ("q5_0.weight", T.Q5_0, (1, 32)), ("q5_1.weight", T.Q5_1, (2, 96))]


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def main():
    rng = np.random.default_rng(7)
    metadata = [{"key": "general.architecture", "type": "STRING", "value": "llama"}]
    tensors = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.gguf"
        w = gguf.GGUFWriter(path, "llama")
        for key, vtype, value in SCALARS:
            w.add_key_value(key, value, vtype)
            metadata.append({"key": key, "type": vtype.name, "value": str(value) if vtype in (V.UINT64, V.INT64) else value})
        for key, itype, value in ARRAYS:
            w.add_key_value(key, value, V.ARRAY, sub_type=itype)
            metadata.append({"key": key, "type": "ARRAY", "itemType": itype.name, "value": value})
        w.add_key_value(NESTED[0], NESTED[1], V.ARRAY)
        metadata.append({"key": NESTED[0], "type": "ARRAY", "itemType": "ARRAY", "value": NESTED[1]})
        for name, qtype, shape in TENSORS:
            x = (rng.standard_normal(shape) * 0.05).astype(np.float32)
            data = gguf.quantize(x, qtype)
            w.add_tensor(name, data, raw_dtype=qtype if qtype not in (T.F32, T.F16) else None)
            tensors.append({"name": name, "type": qtype.name, "shape": list(shape), "input": b64(x.tobytes())})
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        file = path.read_bytes()
    OUT.write_text(json.dumps({"gguf_version": version("gguf"), "metadata": metadata, "tensors": tensors, "file": b64(file)}, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({"out": str(OUT.relative_to(ROOT)), "bytes": len(file)}))


if __name__ == "__main__":
    main()
