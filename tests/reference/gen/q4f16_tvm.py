"""Golden q4f16_1 quantisation and tensor-cache output from the real toolchain (apache-tvm 0.27 on CPU).

`quantize` below is mlc-llm's GroupQuantize._quantize and `pack_weight` its utils.pack_weight, copied
from mlc-ai/mlc-llm python/mlc_llm/quantization/group_quantization.py and quantization/utils.py with the
q4f16_1 constants filled in (group_size 32, int4 in uint32, model_dtype float16, axis -1) — mlc_llm itself
is not on PyPI. It is built as `compile_quantize_func` does for a CPU device (LegalizeOps, relax.build
for "llvm") and fed float16 weights, as mlc-llm's loader casts them before quantising. The tensor cache is
written by tvm.contrib.tvmjs.dump_tensor_cache itself (the writer mlc_llm convert_weight calls).

Run:  .cache/venv-tvm/bin/python tests/reference/gen/q4f16_tvm.py
      (venv: python3 -m venv .cache/venv-tvm && .cache/venv-tvm/bin/pip install -r tests/reference/requirements-tvm.txt)
Writes tests/reference/fixtures/q4f16-tvm.json.
"""

import json
import pathlib
import tempfile

import numpy as np
import tvm
from tvm import relax, te, tirx
from tvm.contrib import tvmjs

GROUP_SIZE = 32
NUM_ELEM_PER_STORAGE = 8  # uint32 / int4
NUM_STORAGE_PER_GROUP = GROUP_SIZE // NUM_ELEM_PER_STORAGE
MAX_INT_VALUE = 7  # 2 ** (4 - 1) - 1
MODEL_DTYPE = "float16"
STORAGE_DTYPE = "uint32"
QUANTIZE_DTYPE_BITS = 4

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "q4f16-tvm.json"


def pack_weight(weight, axis, num_elem_per_storage, weight_bits, storage_dtype, out_shape=None):
    # mlc_llm/quantization/utils.py pack_weight
    assert weight.dtype == storage_dtype
    shape = weight.shape
    if axis < 0:
        axis += len(shape)
    k = shape[axis]
    if out_shape is None:
        out_shape = (*shape[:axis], tirx.ceildiv(k, num_elem_per_storage), *shape[axis + 1 :])
    r = te.reduce_axis((0, num_elem_per_storage), name="r")
    packed_weight = te.compute(
        shape=out_shape,
        fcompute=lambda *idx: tirx.sum(
            tirx.if_then_else(
                idx[axis] * num_elem_per_storage + r < k,
                weight(*idx[:axis], idx[axis] * num_elem_per_storage + r, *idx[axis + 1 :]) << (r * weight_bits),
                tirx.const(0, storage_dtype),
            ),
            axis=r,
        ),
        name="packed_weight",
    ).astype(storage_dtype)
    return packed_weight


def quantize(weight, axis=-1):
    # mlc_llm/quantization/group_quantization.py GroupQuantize._quantize (output_transpose=False: "NK")
    max_int = tirx.const(MAX_INT_VALUE, MODEL_DTYPE)
    shape = weight.shape
    axis = axis if axis >= 0 else len(shape) + axis
    k = shape[axis]
    r = te.reduce_axis((0, GROUP_SIZE), name="r")
    num_group = tirx.ceildiv(k, GROUP_SIZE)
    scale_shape = (*shape[:axis], num_group, *shape[axis + 1 :])
    max_abs = te.compute(
        shape=scale_shape,
        fcompute=lambda *idx: te.max(
            tirx.if_then_else(
                idx[axis] * GROUP_SIZE + r < k,
                te.abs(weight(*idx[:axis], idx[axis] * GROUP_SIZE + r, *idx[axis + 1 :])),
                te.min_value(MODEL_DTYPE),
            ),
            axis=r,
        ),
        name="max_abs_value",
    )
    scale = te.compute(scale_shape, lambda *idx: max_abs(*idx).astype(MODEL_DTYPE) / max_int, name="scale")
    scaled_weight = te.compute(
        shape=weight.shape,
        fcompute=lambda *idx: tirx.min(
            tirx.max(
                tirx.round(weight(*idx) / scale(*idx[:axis], idx[axis] // GROUP_SIZE, *idx[axis + 1 :]) + max_int),
                tirx.const(0, MODEL_DTYPE),
            ),
            max_int * 2,
        ).astype(STORAGE_DTYPE),
    )
    num_storage = NUM_STORAGE_PER_GROUP * num_group
    quantized_weight_shape = (*shape[:axis], num_storage, *shape[axis + 1 :])
    quantized_weight = pack_weight(
        scaled_weight,
        axis=axis,
        num_elem_per_storage=NUM_ELEM_PER_STORAGE,
        weight_bits=QUANTIZE_DTYPE_BITS,
        storage_dtype=STORAGE_DTYPE,
        out_shape=quantized_weight_shape,
    )
    return quantized_weight, scale


def quantize_on_cpu(w16: np.ndarray):
    # mlc_llm/quantization/utils.py compile_quantize_func, CPU branch
    bb = relax.BlockBuilder()
    weight_var = relax.Var("weight", relax.TensorType(w16.shape, MODEL_DTYPE))
    with bb.function(name="main", params=[weight_var]):
        with bb.dataflow():
            lv = bb.emit_te(quantize, weight_var, -1)
            gv = bb.emit_output(lv)
        bb.emit_func_output(gv)
    mod = relax.transform.LegalizeOps()(bb.finalize())
    ex = relax.build(mod, target="llvm")
    dev = tvm.cpu()
    vm = relax.VirtualMachine(ex, dev)
    q_weight, q_scale = vm["main"](tvm.runtime.tensor(w16, dev))
    return q_weight.numpy(), q_scale.numpy()


def cases():
    rng = np.random.default_rng(20241)
    out = []
    # Random rows of several magnitudes (1e-4 … 10), 96 columns = 3 groups.
    w = rng.standard_normal((6, 96)) * (10.0 ** np.arange(-4, 2))[:, None]
    out.append(("random-scales", w))
    # 40 columns: a padded last group (8 real elements + 24 padding).
    out.append(("padded-40", rng.standard_normal((3, 40)) * 0.05))
    # Values that land on .5 after w/scale + 7 (ties), a zero group, a subnormal-scale group, tiny values.
    t = np.zeros((4, 32))
    t[0, :6] = [0.5, 1.5, -0.5, 7, -7, 2.5]
    t[2, :3] = [6e-7, -3e-7, 1e-8]
    t[3] = np.linspace(-1, 1, 32)
    out.append(("ties-zero-tiny", t))
    # A LoRA-like small delta on a typical weight row: w + 1e-3 · noise.
    base = rng.standard_normal((2, 64)) * 0.02
    out.append(("small-delta", np.concatenate([base, base + 1e-3 * rng.standard_normal((2, 64))])))
    return out


def main():
    fixture = {"source": "mlc-llm GroupQuantize._quantize on apache-tvm " + tvm.__version__ + " (llvm, CPU)", "cases": []}
    for name, w in cases():
        w16 = w.astype(np.float16)
        q_weight, q_scale = quantize_on_cpu(w16)
        fixture["cases"].append(
            {
                "name": name,
                "shape": list(w16.shape),
                "w16_bits": w16.view(np.uint16).ravel().tolist(),
                "q_weight": q_weight.ravel().tolist(),
                "q_weight_shape": list(q_weight.shape),
                "q_scale_bits": q_scale.view(np.uint16).ravel().tolist(),
                "q_scale_shape": list(q_scale.shape),
            }
        )

    # dump_tensor_cache with a tiny cap (1 KiB) so sharding rules show: records fill a shard until the
    # next one would reach the cap; one of ≥ half the cap goes alone (out of band) into its own shard.
    sizes = [("a", (100,), "float16"), ("b", (64, 2), "uint32"), ("big", (200,), "uint32"), ("c", (300,), "float16"), ("d", (10,), "float16")]
    rng = np.random.default_rng(7)
    params = {}
    for name, shape, dtype in sizes:
        params[name] = (rng.integers(0, 2**15, size=shape)).astype(dtype)
    with tempfile.TemporaryDirectory() as d:
        tvmjs.dump_tensor_cache(params, d, encode_format="raw", meta_data={"ParamSize": len(params)}, shard_cap_mb=1 / 1024, show_progress=False)
        manifest = json.loads((pathlib.Path(d) / "tensor-cache.json").read_text())
    fixture["tensor_cache"] = {
        "cap_bytes": 1024,
        "tensors": [{"name": n, "shape": list(s), "dtype": t, "bytes_hex": params[n].tobytes().hex()} for n, s, t in sizes],
        "manifest": manifest,
    }
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
