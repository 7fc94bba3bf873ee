// llama2.c checkpoints (the legacy "version 0" .bin that run.c reads), mapped onto the HF weight names
// so the same LlamaModel runs them.
//
// File (karpathy/llama2.c run.c read_checkpoint / memory_map_weights): seven int32 — dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means the classifier is NOT
// shared with the embedding. Then float32 arrays, each stacked over layers: token_embedding (V, D),
// rms_att (L, D), wq (L, nh·hs, D), wk (L, nkv·hs, D), wv (L, nkv·hs, D), wo (L, D, nh·hs), rms_ffn (L, D),
// w1 (L, H, D), w2 (L, D, H), w3 (L, H, D), rms_final (D), two unused RoPE tables (seq_len · hs/2 each),
// and wcls (V, D) when unshared. Linear weights are (out, in) like PyTorch's; w1/w2/w3 are gate/down/up.
// run.c's conventions: RMSNorm eps 1e-5, RoPE θ 10000 on interleaved pairs, BOS = 1 ends a sample.
import { ModelFormatError } from '../errors.ts';
import type { DecoderConfig } from './config.ts';
import type { Weights } from './weights.ts';

const HEADER_INTS = 7;
/** llama2.c's newer export formats start with this magic ("ak42"); run.c reads only the legacy one. */
const MAGIC_AK42 = 0x616b3432;

export function readLlama2c(bytes: Uint8Array, file = 'model.bin'): { config: DecoderConfig; weights: Weights } {
  const fail = (problem: string, fix = 'Give a llama2.c checkpoint in the legacy format run.c reads (export.py --version 0)') =>
    new ModelFormatError(file, problem, fix);
  if (bytes.byteLength < HEADER_INTS * 4) throw fail(`only ${bytes.byteLength} bytes, shorter than the 28-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) === MAGIC_AK42) throw fail('this is a llama2.c version-1/2 export (magic "ak42")');
  const [dim, hidden, layers, heads, kvHeads, signedVocab, seqLen] = Array.from({ length: HEADER_INTS }, (_, i) => view.getInt32(4 * i, true));
  const shared = signedVocab > 0;
  const vocab = Math.abs(signedVocab);
  for (const [k, v] of Object.entries({ dim, hidden, layers, heads, kvHeads, vocab, seqLen })) {
    if (!(v > 0)) throw fail(`header field ${k} = ${v} is not positive; this is not a llama2.c checkpoint`);
  }
  if (dim % heads !== 0 || heads % kvHeads !== 0) throw fail(`dim ${dim}, n_heads ${heads}, n_kv_heads ${kvHeads} do not divide evenly`);
  const hs = dim / heads;
  const kvDim = kvHeads * hs;

  // Walk the float section in file order, checking the length before copying anything.
  const sizes: [string, number[]][] = [
    ['embed', [vocab, dim]],
    ['rms_att', [layers, dim]],
    ['wq', [layers, dim, dim]],
    ['wk', [layers, kvDim, dim]],
    ['wv', [layers, kvDim, dim]],
    ['wo', [layers, dim, dim]],
    ['rms_ffn', [layers, dim]],
    ['w1', [layers, hidden, dim]],
    ['w2', [layers, dim, hidden]],
    ['w3', [layers, hidden, dim]],
    ['rms_final', [dim]],
    ['freq_cis', [seqLen, hs]], // real and imaginary halves, unused
  ];
  if (!shared) sizes.push(['wcls', [vocab, dim]]);
  const count = (shape: number[]) => shape.reduce((a, d) => a * d, 1);
  const floats = sizes.reduce((a, [, s]) => a + count(s), 0);
  const need = (HEADER_INTS + floats) * 4;
  if (bytes.byteLength < need) throw fail(`${bytes.byteLength} bytes, but the header describes ${need}: the file is truncated`);
  // Copy once into an aligned buffer (the float section starts at byte 28, which is 4-aligned anyway).
  const all = new Float32Array(bytes.slice(HEADER_INTS * 4, need).buffer);
  const arrays = new Map<string, Float32Array>();
  let at = 0;
  for (const [name, shape] of sizes) {
    arrays.set(name, all.subarray(at, at + count(shape)));
    at += count(shape);
  }

  const weights: Weights = new Map();
  const put = (name: string, shape: number[], data: Float32Array) => weights.set(name, { shape, data });
  const layer = (name: string, l: number, shape: number[]) => {
    const n = count(shape);
    return arrays.get(name)!.subarray(l * n, (l + 1) * n);
  };
  put('model.embed_tokens.weight', [vocab, dim], arrays.get('embed')!);
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    put(p + 'input_layernorm.weight', [dim], layer('rms_att', l, [dim]));
    put(p + 'self_attn.q_proj.weight', [dim, dim], layer('wq', l, [dim, dim]));
    put(p + 'self_attn.k_proj.weight', [kvDim, dim], layer('wk', l, [kvDim, dim]));
    put(p + 'self_attn.v_proj.weight', [kvDim, dim], layer('wv', l, [kvDim, dim]));
    put(p + 'self_attn.o_proj.weight', [dim, dim], layer('wo', l, [dim, dim]));
    put(p + 'post_attention_layernorm.weight', [dim], layer('rms_ffn', l, [dim]));
    put(p + 'mlp.gate_proj.weight', [hidden, dim], layer('w1', l, [hidden, dim]));
    put(p + 'mlp.down_proj.weight', [dim, hidden], layer('w2', l, [dim, hidden]));
    put(p + 'mlp.up_proj.weight', [hidden, dim], layer('w3', l, [hidden, dim]));
  }
  put('model.norm.weight', [dim], arrays.get('rms_final')!);
  if (!shared) put('lm_head.weight', [vocab, dim], arrays.get('wcls')!);

  const config: DecoderConfig = {
    arch: 'llama',
    dim,
    layers,
    heads,
    kvHeads,
    headDim: hs,
    hidden,
    vocab,
    normEps: 1e-5, // run.c rmsnorm
    ropeTheta: 10000, // run.c hard-codes it
    ropeScaling: { type: 'none' },
    ropeLayout: 'interleaved',
    attentionBias: false,
    tiedEmbeddings: shared,
    maxSeqLen: seqLen,
    bosId: 1,
    eosIds: [2, 1], // run.c ends a sample at BOS (TinyStories delimits stories with it)
  };
  return { config, weights };
}

/**
 * The same model with q/k rows permuted from interleaved to half RoPE pairs (what HF's Llama conversion
 * script does), so it can be exported as an HF checkpoint. Outputs are unchanged: q·k sums the same
 * products in another order.
 */
export function interleavedToHalf(config: DecoderConfig, weights: Weights): { config: DecoderConfig; weights: Weights } {
  if (config.ropeLayout !== 'interleaved') return { config, weights };
  const hd = config.headDim;
  const order = [...Array(hd / 2).keys()].map((i) => 2 * i).concat([...Array(hd / 2).keys()].map((i) => 2 * i + 1));
  const out: Weights = new Map(weights);
  for (let l = 0; l < config.layers; l++) {
    for (const proj of ['q_proj', 'k_proj']) {
      const name = `model.layers.${l}.self_attn.${proj}.weight`;
      const w = weights.get(name)!;
      const [rows, cols] = w.shape;
      const data = new Float32Array(w.data.length);
      for (let r = 0; r < rows; r++) {
        const head = Math.floor(r / hd);
        const src = head * hd + order[r % hd];
        data.set(w.data.subarray(src * cols, (src + 1) * cols), r * cols);
      }
      out.set(name, { shape: w.shape, data });
    }
  }
  return { config: { ...config, ropeLayout: 'half' }, weights: out };
}
