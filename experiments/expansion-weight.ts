// Is there any weight at which the LLM's expansions help the retrievers ExpandR trained? Each round retriever of
// an experiment, with its ExpandR row's expansions, searched with w·q̂ + (1 − w)·ê for w from 0 to 1 (0.5 is
// Eq. 8, 1 the plain query), on the corpus embeddings the run stored; w chosen on dev, read on test:
//
//   npx tsx experiments/expansion-weight.ts --config experiments/scifact-smollm2-minilm.json \
//     --run .cache/runs/scifact-smollm2-minilm --out experiments/scifact-smollm2-minilm/expansion-weight.json
//
// w 0.5 and w 1 must give the run's own ExpandR and plain-query rows exactly, or the probe stops. The run folder
// is only read.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';

// tfjs-core's module layout needs the runner's resolve hook, installed before tfjs loads (src/cli/entry.ts).
registerTfjsResolveHook();
const { values: a } = parseArgs({ options: { config: { type: 'string' }, run: { type: 'string' }, out: { type: 'string' } } });
if (!a.config || !a.run) throw new Error('usage: npx tsx experiments/expansion-weight.ts --config FILE --run DIR [--out FILE.json]');
const { expansionWeightProbe } = await import('./expansion-weight-probe.ts');
const record = await expansionWeightProbe(a.config, a.run);
if (a.out) writeFileSync(a.out, JSON.stringify(record, null, 1) + '\n');
