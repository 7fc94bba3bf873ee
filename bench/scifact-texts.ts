// SciFact texts for the encoder benchmarks (Node side): documents as the paper flattens them
// (title + ' ' + text), and (train query, positive document) pairs for a training step.
import { join } from 'node:path';
import { sourcesFromPath } from '../src/data/node-sources.ts';
import { loadBeir } from '../src/data/load.ts';
import { flatText } from '../src/data/types.ts';

export const SCIFACT = join(import.meta.dirname, '../../shared/data/beir/scifact');

export interface BenchTexts {
  /** The first `docs` documents in corpus order. */
  docs: string[];
  /** The first `pairs` train queries (file order) that have a positive, with their first positive. */
  queries: string[];
  positives: string[];
}

export async function scifactTexts(docs: number, pairs: number): Promise<BenchTexts> {
  const data = await loadBeir(await sourcesFromPath(SCIFACT));
  const byId = new Map(data.docs.map((d) => [d.id, d]));
  const train = data.qrels.get('train');
  if (!train) throw new Error(`${SCIFACT}: no qrels/train.tsv`);
  const queries: string[] = [];
  const positives: string[] = [];
  for (const q of data.queries.values()) {
    if (queries.length >= pairs) break;
    const pos = [...(train.get(q.id) ?? new Map<string, number>())].find(([, rel]) => rel > 0);
    if (!pos) continue;
    queries.push(q.text);
    positives.push(flatText(byId.get(pos[0])!));
  }
  return { docs: data.docs.slice(0, docs).map(flatText), queries, positives };
}
