"""What the `gguf` package reads from GGUF files: the reference for src/llm/gguf/reader.ts and dequant*.ts
(tests/reference/gguf-dequant.test.ts).

1. Writes tests/reference/fixtures/gguf-dequant.gguf with gguf.GGUFWriter (alignment 64, so the default 32
   is not assumed): metadata of every value type (uint8 … float64, bool, string, arrays of numbers, bools and
   strings, a nested array), and tensors of every type the reader dequantizes:
     q_<TYPE>    float32 rows quantized by the package itself (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0)
     raw_<TYPE>  random block bytes whose float16 scale fields are random finite values (sign, subnormals,
                 zero and large exponents): every type incl. the K-quants Q2_K-Q6_K, which the package
                 dequantizes but cannot quantize. F16 raw: random finite bit patterns and ±inf; BF16 raw:
                 any bits (NaNs too: the package's BF16 path is integer shifts, so payloads are kept).
2. Writes tests/reference/fixtures/gguf-dequant.json:
     gguf_version, numpy_version; file (name, size, sha256, version, alignment, data offset as GGUFReader
     reads it); metadata (key, type, item_type, value as written; 64-bit integers as decimal strings);
     tensors (name, type, GGUF dims, absolute offset and bytes as GGUFReader reads them, sha256 of the
     float32 bytes of gguf.quants.dequantize, the first 16 values and every 97th value (at most 64
     samples); non-finite as
     strings "nan" / "inf" / "-inf").
     smollm2: the same for the real SmolLM2-135M-Instruct .gguf (metadata facts of FACTS.md, every tensor's
     sha256, head values of token_embd (Q8_0), blk.0.attn_q (Q4_1) and blk.0.attn_norm (F32)) when the file
     is present; else the previous fixture's section is kept and the script says so.

Needs the interop venv with `gguf` (tests/reference/requirements-llm.txt). Run from the project root:
    .cache/venv-interop/bin/python tests/reference/gen/gguf_dequant.py
Deterministic: re-running rewrites the same files. About half a minute with SmolLM2 (2 cores).
"""

import hashlib
import json
import math
from importlib.metadata import version
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V

ROOT = Path(__file__).resolve().parents[3]
OUT_GGUF = ROOT / "tests/reference/fixtures/gguf-dequant.gguf"
OUT_JSON = ROOT / "tests/reference/fixtures/gguf-dequant.json"
SMOLLM2 = ROOT / ".cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
ALIGNMENT = 64
HEAD = 16
STRIDE = 97
MAX_SAMPLES = 64

QUANTIZABLE = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
RAW = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
# Byte offsets of the float16 scale fields in each block (ggml-quants.h block_* structs).
F16_FIELDS = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
              T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}

# (key, type, item type, value): the GGUF value types, each at least once.
METADATA = [
    ("test.u8", V.UINT8, None, 200),
    ("test.i8", V.INT8, None, -100),
    ("test.u16", V.UINT16, None, 60000),
    ("test.i16", V.INT16, None, -30000),
    ("test.u32", V.UINT32, None, 4000000000),
    ("test.i32", V.INT32, None, -2000000000),
    ("test.f32", V.FLOAT32, None, 0.1),
    ("test.bool", V.BOOL, None, True),
    ("test.string", V.STRING, None, "héllo, GGUF ✓ <|im_start|>\n"),
    ("test.u64", V.UINT64, None, 2**63 + 5),
    ("test.i64", V.INT64, None, -(2**40) - 3),
    ("test.f64", V.FLOAT64, None, 1e-300),
    ("test.array.i32", V.ARRAY, V.INT32, [1, -2, 3, 2147483647]),
    ("test.array.u8", V.ARRAY, V.UINT8, [0, 1, 255]),
    ("test.array.f32", V.ARRAY, V.FLOAT32, [1.5, -0.25, 3.0e38]),
    ("test.array.f64", V.ARRAY, V.FLOAT64, [math.pi, -1e-300]),
    ("test.array.u64", V.ARRAY, V.UINT64, [0, 2**64 - 1]),
    ("test.array.i64", V.ARRAY, V.INT64, [-(2**63), 7]),
    ("test.array.bool", V.ARRAY, V.BOOL, [True, False, True]),
    ("test.array.string", V.ARRAY, V.STRING, ["a", "", "Ġthe", "日本"]),
    ("test.array.nested", V.ARRAY, V.ARRAY, [[1, 2], [3]]),
]


def finite_f16(rng: np.random.Generator, n: int) -> np.ndarray:
    """n finite float16 bit patterns: any sign, exponent 0..30 (subnormals and zero included), any mantissa."""
    sign = rng.integers(0, 2, n, dtype=np.uint16) << 15
    exp = rng.integers(0, 31, n, dtype=np.uint16) << 10
    man = rng.integers(0, 1024, n, dtype=np.uint16)
    bits = sign | exp | man
    bits[:4] = [0x0000, 0x8000, 0x0001, 0x7BFF]  # +0, -0, smallest subnormal, 65504
    return bits


def raw_blocks(rng: np.random.Generator, qtype: T, n_blocks: int) -> np.ndarray:
    """Random bytes in qtype's block layout with finite float16 scales; shape (n_blocks, type_size)."""
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    blocks = rng.integers(0, 256, (n_blocks, size), dtype=np.uint8)
    for at in F16_FIELDS[qtype]:
        blocks[:, at:at + 2] = finite_f16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return blocks


def rows(rng: np.random.Generator) -> np.ndarray:
    """4 × 256 float32 weights at several scales (LLM-like, unit, large, tiny), with zeros and a constant run."""
    x = rng.standard_normal((4, 256)).astype(np.float32)
    x *= np.array([[0.02], [1.0], [300.0], [1e-6]], dtype=np.float32)
    x[1, :32] = 0.0
    x[2, 32:64] = 0.5
    return x


def number(x: float):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)


def describe_tensor(t) -> dict:
    values = np.ascontiguousarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(-1)
    return {
        "name": t.name,
        "type": t.tensor_type.name,
        "dims": [int(d) for d in t.shape],  # GGUFReader's shape is GGUF order (ne[0] first)
        "offset": int(t.data_offset),
        "bytes": int(t.n_bytes),
        "elements": int(t.n_elements),
        "sha256": hashlib.sha256(values.tobytes()).hexdigest(),
        "head": [number(v) for v in values[:HEAD]],
        "samples": [[int(i), number(values[i])] for i in range(0, values.size, max(STRIDE, values.size // MAX_SAMPLES + 1))],
    }


def json_value(vtype: V, sub: V | None, value):
    """The value as the file holds it: float32 rounded, 64-bit integers as decimal strings."""
    if vtype == V.ARRAY:
        return [json_value(sub, None, v) for v in value] if sub != V.ARRAY else value
    if vtype in (V.UINT64, V.INT64):
        return str(value)
    if vtype == V.FLOAT32:
        return float(np.float32(value))
    return value


def write_test_file(rng: np.random.Generator) -> None:
    w = gguf.GGUFWriter(str(OUT_GGUF), "llama")
    w.add_custom_alignment(ALIGNMENT)
    for key, vtype, sub, value in METADATA:
        w.add_key_value(key, value, vtype, sub_type=sub)
    x = rows(rng)
    for qtype in QUANTIZABLE:
        data = gguf.quants.quantize(x, qtype) if qtype != T.F32 else x
        w.add_tensor(f"q_{qtype.name}", data, raw_dtype=qtype if data.dtype == np.uint8 else None)
    for qtype in RAW:
        if qtype == T.F16:
            bits = finite_f16(rng, 1024)
            bits[4:6] = [0x7C00, 0xFC00]  # ±inf
            w.add_tensor("raw_F16", bits.view(np.float16).reshape(4, 256))
        elif qtype == T.BF16:
            w.add_tensor("raw_BF16", rng.integers(0, 256, (4, 512), dtype=np.uint8), raw_dtype=T.BF16)
        else:
            block, _ = gguf.GGML_QUANT_SIZES[qtype]
            n_blocks = 16 if block == 256 else 32  # 4096 or 1024 weights
            w.add_tensor(f"raw_{qtype.name}", raw_blocks(rng, qtype, n_blocks).reshape(4, -1), raw_dtype=qtype)
    w.add_tensor("shape_3d", rng.standard_normal((2, 3, 32)).astype(np.float32))
    w.add_tensor("shape_1d", np.arange(5, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def check_metadata_read_back(reader: gguf.GGUFReader) -> None:
    """GGUFReader sees the types we asked the writer for (so the fixture's types are the file's)."""
    for key, vtype, sub, value in METADATA:
        field = reader.fields[key]
        assert field.types[0] == vtype, (key, field.types)
        if vtype == V.ARRAY:
            assert field.types[-1] == (sub if sub != V.ARRAY else V.INT32), (key, field.types)
        if vtype not in (V.ARRAY,) or sub not in (V.ARRAY,):
            got = field.contents()
            want = [float(np.float32(v)) for v in value] if sub == V.FLOAT32 else value
            assert got == (float(np.float32(want)) if vtype == V.FLOAT32 else want), (key, got, want)


def file_facts(path: Path, reader: gguf.GGUFReader) -> dict:
    data = path.read_bytes()
    return {
        "name": path.name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "version": int(reader.fields["GGUF.version"].contents()),
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
        "tensor_count": len(reader.tensors),
    }


SMOLLM2_KEYS = ["general.architecture", "llama.block_count", "llama.embedding_length", "llama.feed_forward_length",
                "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.freq_base",
                "llama.attention.layer_norm_rms_epsilon", "llama.context_length", "llama.vocab_size",
                "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id",
                "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_bos_token"]
SMOLLM2_HEADS = ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_norm.weight"]


def smollm2_section() -> dict | None:
    if not SMOLLM2.exists():
        return None
    reader = gguf.GGUFReader(str(SMOLLM2))
    meta = {k: reader.fields[k].contents() for k in SMOLLM2_KEYS}
    meta["llama.rope.freq_base"] = float(np.float32(meta["llama.rope.freq_base"]))
    meta["llama.attention.layer_norm_rms_epsilon"] = float(np.float32(meta["llama.attention.layer_norm_rms_epsilon"]))
    tokens = reader.fields["tokenizer.ggml.tokens"]
    merges = reader.fields["tokenizer.ggml.merges"]
    tensors = []
    for t in reader.tensors:
        d = describe_tensor(t)
        if t.name not in SMOLLM2_HEADS:
            del d["head"], d["samples"]
        tensors.append(d)
    return {
        "file": file_facts(SMOLLM2, reader),
        "metadata": meta,
        "token_count": len(tokens.data),
        "tokens_first": [tokens.contents(i) for i in range(5)],
        "merge_count": len(merges.data),
        "merges_first": [merges.contents(i) for i in range(3)],
        "chat_template_sha256": hashlib.sha256(reader.fields["tokenizer.chat_template"].contents().encode()).hexdigest(),
        "tensors": tensors,
    }


def main():
    rng = np.random.default_rng(1313)
    write_test_file(rng)
    reader = gguf.GGUFReader(str(OUT_GGUF))
    check_metadata_read_back(reader)
    fixture = {
        "gguf_version": version("gguf"),
        "numpy_version": np.__version__,
        "file": file_facts(OUT_GGUF, reader),
        "metadata": [{"key": k, "type": t.name, "item_type": s.name if s is not None else None, "value": json_value(t, s, v)} for k, t, s, v in METADATA],
        "tensors": [describe_tensor(t) for t in reader.tensors],
    }
    smol = smollm2_section()
    if smol is None:
        old = json.loads(OUT_JSON.read_text()) if OUT_JSON.exists() else {}
        smol = old.get("smollm2")
        print(f"{SMOLLM2} is absent: kept the previous fixture's smollm2 section" if smol else f"{SMOLLM2} is absent: no smollm2 section")
    if smol is not None:
        fixture["smollm2"] = smol
    OUT_JSON.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({"gguf": str(OUT_GGUF.relative_to(ROOT)), "bytes": OUT_GGUF.stat().st_size, "json": str(OUT_JSON.relative_to(ROOT)),
                      "json_bytes": OUT_JSON.stat().st_size, "tensors": len(fixture["tensors"]), "smollm2": smol is not None}))


if __name__ == "__main__":
    main()
