// DPO against TRL + PEFT + PyTorch autograd (fixtures/dpo-tiny-qwen2-torch.json, written by
// tests/reference/gen/dpo_reference.py): the tiny Qwen2 fixture with a PEFT-saved LoRA adapter (non-zero
// B) read by readPeftAdapter; TRL's tokenize_row ids and truncation; policy and reference log-probs;
// the Eq. 17 loss; and d loss / d lora_A, lora_B of every module — on the cpu and wasm backends, with the
// vocabulary in one slice and in slices of 7 (the chunked log-softmax and its custom gradient).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/llm/gradients.ts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useBackend, type BackendName } from '../../src/cli/backend.ts';
import { sourcesFromPath } from '../../src/data/node-sources.ts';
import { dpoLoss } from '../../src/llm/dpo.ts';
import { collatePairs, tokenizePair, type DpoLengths, type TokenizedPair } from '../../src/llm/dpo-data.ts';
import { modelFilesFromSources } from '../../src/llm/files.ts';
import type { LlamaModel } from '../../src/llm/llama.ts';
import { loadDecoder } from '../../src/llm/load.ts';
import { sequenceLogProbs, sequenceLogProbsValues } from '../../src/llm/logprobs.ts';
import type { LoraAdapters } from '../../src/llm/lora.ts';
import { PEFT_KEY_PREFIX, readPeftAdapter } from '../../src/llm/lora-peft.ts';
import type { DecoderTokenizer } from '../../src/llm/tokenizer.ts';

/** Issue 4's bar: float32 tfjs against float64 PyTorch. */
const TOLERANCE = 1e-4;

interface Fixture {
  beta: number;
  max_length: number;
  max_prompt_length: number;
  pairs: { prompt: string; chosen: string; rejected: string; prompt_ids: number[]; chosen_ids: number[]; rejected_ids: number[] }[];
  logps: { policy_chosen: number[]; policy_rejected: number[]; reference_chosen: number[]; reference_rejected: number[] };
  loss: number;
  metrics: Record<string, number>;
  grads: Record<string, { shape: number[]; grad: number[] }>;
}
const FX = JSON.parse(readFileSync(new URL('./fixtures/dpo-tiny-qwen2-torch.json', import.meta.url), 'utf8')) as Fixture;
const dir = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const LENGTHS: DpoLengths = { maxLength: FX.max_length, maxPromptLength: FX.max_prompt_length, maxCompletionLength: null };
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

describe.each(['cpu', 'wasm'] as BackendName[])('DPO on tiny-qwen2 + PEFT adapter vs TRL/PyTorch (%s)', (backend) => {
  let model: LlamaModel;
  let tokenizer: DecoderTokenizer;
  let lora: LoraAdapters;
  let pairs: TokenizedPair[];
  beforeAll(async () => {
    await useBackend(backend);
    ({ model, tokenizer } = (await loadDecoder(modelFilesFromSources(await sourcesFromPath(dir('tiny-qwen2'))))) as { model: LlamaModel; tokenizer: DecoderTokenizer });
    ({ lora } = await readPeftAdapter(model, modelFilesFromSources(await sourcesFromPath(dir('tiny-qwen2-lora')))));
    pairs = FX.pairs.map((p) => tokenizePair(tokenizer, p, LENGTHS));
  });
  afterAll(() => {
    lora?.dispose();
    model?.dispose();
  });

  test("tokenization and truncation equal TRL's tokenize_row (chat template, EOS, prompt cut from the left)", () => {
    FX.pairs.forEach((p, i) => {
      expect(pairs[i].prompt).toEqual(p.prompt_ids);
      expect(pairs[i].chosen).toEqual(p.chosen_ids);
      expect(pairs[i].rejected).toEqual(p.rejected_ids);
    });
  });

  test.each([7, 300])(`policy and reference log-probs within ${TOLERANCE} (vocab slices of %i)`, async (chunk) => {
    const batch = collatePairs(pairs, LENGTHS.maxLength);
    const n = pairs.length;
    const policy = await sequenceLogProbsValues(model, batch, { chunk });
    model.adaptersEnabled = false;
    const reference = await sequenceLogProbsValues(model, batch, { chunk });
    model.adaptersEnabled = true;
    const d = {
      policy: Math.max(maxAbs(policy.subarray(0, n), FX.logps.policy_chosen), maxAbs(policy.subarray(n), FX.logps.policy_rejected)),
      reference: Math.max(maxAbs(reference.subarray(0, n), FX.logps.reference_chosen), maxAbs(reference.subarray(n), FX.logps.reference_rejected)),
    };
    console.log(`${backend} chunk ${chunk}: max |Δ log π| policy ${d.policy.toExponential(2)}, reference ${d.reference.toExponential(2)}`);
    expect(d.policy).toBeLessThanOrEqual(TOLERANCE);
    expect(d.reference).toBeLessThanOrEqual(TOLERANCE);
  });

  test.each([7, 300])(`Eq. 17 loss and every LoRA gradient within ${TOLERANCE} of autograd (vocab slices of %i)`, async (chunk) => {
    const batch = collatePairs(pairs, LENGTHS.maxLength);
    const n = pairs.length;
    const rc = tf.tensor1d(FX.logps.reference_chosen);
    const rr = tf.tensor1d(FX.logps.reference_rejected);
    const { value, grads } = tf.variableGrads(() => {
      const lp = sequenceLogProbs(model, batch, { chunk }); // dropout off, as TRL trains (disable_dropout)
      return dpoLoss(tf.slice(lp, [0], [n]), tf.slice(lp, [n], [n]), rc, rr, FX.beta).loss;
    }, lora.variables);
    const loss = (await value.data())[0];
    let worst = 0;
    let worstName = '';
    let largest = 0;
    for (const l of lora.layers) {
      for (const [part, v] of [['lora_A', l.a], ['lora_B', l.b]] as const) {
        const want = FX.grads[`${PEFT_KEY_PREFIX}${l.module}.${part}.weight`];
        expect(want.shape).toEqual(v.shape);
        const got = await grads[v.name].data();
        const diff = maxAbs(got, want.grad);
        largest = Math.max(largest, ...want.grad.map(Math.abs));
        if (diff > worst) [worst, worstName] = [diff, `${l.module}.${part}`];
      }
    }
    expect(Object.keys(FX.grads).length).toBe(lora.layers.length * 2);
    console.log(`${backend} chunk ${chunk}: loss ${loss.toFixed(7)} (torch ${FX.loss.toFixed(7)}), max |Δgrad| ${worst.toExponential(2)} at ${worstName} (largest |grad| ${largest.toExponential(2)})`);
    expect(Math.abs(loss - FX.loss)).toBeLessThanOrEqual(TOLERANCE);
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
    rc.dispose();
    rr.dispose();
  });
});
