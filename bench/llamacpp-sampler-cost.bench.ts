// What temperature-first sampling (ours and transformers': softmax(l/T), then top-p) would cost on the
// runner's native llama.cpp. node-llama-cpp 3.21.1 samples with llama.cpp's chain (top-p, then temperature:
// AddonSampler.cpp); sampling in our order needs the whole distribution every token
// (evaluateWithMetadata({probabilities: true}) at T 1, top-p 1, top-k 0: 49,152 probabilities sorted in C++
// and handed to JS as a Map), the chosen token passed back through the generator. A top-k subset does not
// do: llama.cpp renormalises the probabilities it returns over the kept tokens, so the tail mass that
// decides the nucleus is lost (the page's wllama path bounds it with the tail wllama leaves,
// src/app/wllama-nucleus.ts). This measures ms per token of both, same prompt, same process:
//   npx tsx bench/llamacpp-sampler-cost.bench.ts [--tokens 64] [--rounds 3]
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { importNodeLlamaCpp } from '../src/llm/llamacpp/node-engine.ts';

const { values } = parseArgs({ options: { tokens: { type: 'string', default: '64' }, rounds: { type: 'string', default: '3' }, model: { type: 'string', default: '.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf' } } });
const N = Number(values.tokens);

type Gen = AsyncGenerator<{ token: number; probabilities?: Map<number, number> }, void, number | void>;
interface Seq {
  clearHistory(): Promise<void>;
  evaluate(tokens: number[], o: Record<string, unknown>): AsyncGenerator<number, void, void | number>;
  evaluateWithMetadata(tokens: number[], m: Record<string, unknown>, o: Record<string, unknown>): Gen;
}
const nlc = (await importNodeLlamaCpp()) as unknown as {
  getLlama(o: Record<string, unknown>): Promise<{ loadModel(o: Record<string, unknown>): Promise<{ tokenize(t: string, special: boolean): number[]; createContext(o: Record<string, unknown>): Promise<{ getSequence(): Seq; dispose(): Promise<void> }>; dispose(): Promise<void> }>; dispose(): Promise<void> }>;
  LlamaLogLevel: Record<string, string>;
};
const llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error, maxThreads: 0 });
const model = await llama.loadModel({ modelPath: values.model, gpuLayers: 0 });
const ctx = await model.createContext({ sequences: 1, contextSize: 1024, threads: 1, flashAttention: false });
const seq = ctx.getSequence();
const prompt = model.tokenize('<|im_start|>user\nPlease write a passage to answer the question.\nQuestion: Vitamin D deficiency raises the risk of bone fractures.\nPassage:<|im_end|>\n<|im_start|>assistant\n', true);
console.log(`# llama.cpp sampler cost: ${values.model}, ${prompt.length} prompt tokens, ${N} new tokens, 1 thread; load ${loadavg()[0].toFixed(2)}`);
for (let round = 0; round < Number(values.rounds); round++) {
  await seq.clearHistory();
  let t = performance.now();
  let n = 0;
  for await (const _ of seq.evaluate([...prompt], { temperature: 0.8, topP: 0.9, topK: 0, minP: 0, seed: 1, yieldEogToken: true, repeatPenalty: false })) if (++n >= N) break;
  const native = (performance.now() - t) / n;
  await seq.clearHistory();
  t = performance.now();
  n = 0;
  let jsMs = 0;
  let size = 0;
  const it = seq.evaluateWithMetadata([...prompt], { probabilities: true }, { temperature: 1, topP: 1, topK: 0, minP: 0, seed: 1, yieldEogToken: true, repeatPenalty: false });
  let r = await it.next();
  while (!r.done) {
    const t1 = performance.now();
    let best = -1;
    let bp = -1;
    size = 0;
    for (const [tok, p] of r.value.probabilities!) {
      size++;
      if (p > bp) [bp, best] = [p, tok];
    }
    jsMs += performance.now() - t1;
    if (++n >= N) break;
    r = await it.next(best);
  }
  await it.return();
  const full = (performance.now() - t) / n;
  console.log(JSON.stringify({ round, nativeMsPerToken: +native.toFixed(2), wholeDistributionMsPerToken: +full.toFixed(2), ratio: +(full / native).toFixed(2), probabilitiesPerToken: size, jsLoopMsPerToken: +(jsMs / n).toFixed(2), load1m: +loadavg()[0].toFixed(2) }));
}
await ctx.dispose();
await model.dispose();
await llama.dispose();
