// Which half of ExpandR costs it against FT: the retriever trained on expanded queries, or the expansion at
// search time? Each retriever an experiment trained (FT, the round-1 and round-2 retrievers, every seed) is
// evaluated here on the plain test and dev queries, with the corpus embeddings the run already stored (nothing
// is re-encoded but the queries), and read against its own expanded row and against FT of the same seed:
//
//   npx tsx experiments/plain-queries.ts --config experiments/scifact-smollm2-minilm.json \
//     --run .cache/runs/scifact-smollm2-minilm --out experiments/scifact-smollm2-minilm/plain-queries.json
//
// FT is evaluated again the same way as a check: its plain row must equal the run's own FT row exactly
// (the same encoder, stored embeddings and search), or the probe stops. The run folder is only read.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';

// tfjs-core's module layout needs the runner's resolve hook, installed before tfjs loads (src/cli/entry.ts).
registerTfjsResolveHook();
const { values: a } = parseArgs({ options: { config: { type: 'string' }, run: { type: 'string' }, out: { type: 'string' } } });
if (!a.config || !a.run) throw new Error('usage: npx tsx experiments/plain-queries.ts --config FILE --run DIR [--out FILE.json]');
const { plainQueryProbe } = await import('./plain-queries-probe.ts');
const record = await plainQueryProbe(a.config, a.run);
if (a.out) writeFileSync(a.out, JSON.stringify(record, null, 1) + '\n');
