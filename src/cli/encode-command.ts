// `expandr encode`: embeddings of a BEIR corpus (title + " " + text) or its queries as JSONL, one
// {"id", "embedding": [...]} per line, with the encoder's own pooling and normalisation (DESIGN.md §5).
// Corpus embeddings go through the same cache as `eval --retriever dense`, so either reuses the other's.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { UsageError } from '../errors.ts';
import { sourcesFromPath } from '../data/node-sources.ts';
import { loadBeir } from '../data/load.ts';
import type { BeirQuery } from '../data/types.ts';
import { splitQueries } from '../data/qrels.ts';
import { encodeCorpus } from '../retrieval/dense/encode-corpus.ts';
import { DEFAULT_CHUNK_SIZE } from '../retrieval/dense/chunk-store.ts';
import { formatDuration } from '../util/format.ts';
import { parseCommandArgs } from './args.ts';
import { stderrProgress } from './progress.ts';
import { ENCODER_HELP, ENCODER_OPTIONS, setupEncoder, type DenseDeps } from './encoder-setup.ts';

export const ENCODE_HELP = `encode     Embed a BEIR corpus (title + " " + text) or its queries: JSONL {"id", "embedding"} per line.

Options:
  --data PATH          BEIR folder or zip                                                          (required)
  --out FILE           JSONL output                                                                (required)
  --queries            embed the queries instead of the documents (all, or those of --split)
  --split NAME         with --queries: only the queries judged in this split
  --limit N            only the first N documents (or queries)
${ENCODER_HELP}
  --json               print one JSON object as the last line
  --quiet              no progress on stderr`;

/** One JSONL line per row: ids and row-major vectors [ids.length × dim]. Float32 values written exactly. */
function jsonl(ids: readonly string[], vectors: Float32Array, dim: number): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) s += `{"id":${JSON.stringify(ids[i])},"embedding":[${vectors.subarray(i * dim, (i + 1) * dim).join(',')}]}\n`;
  return s;
}

export async function encodeCommand(argv: string[], signal: AbortSignal, deps: DenseDeps = {}): Promise<void> {
  const a = parseCommandArgs('encode', argv, {
    data: { type: 'string' },
    out: { type: 'string' },
    queries: { type: 'boolean' },
    split: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    ...ENCODER_OPTIONS,
  });
  const dataPath = a.need('data');
  const outPath = a.need('out');
  if (a.str('split') && !a.flag('queries')) throw new UsageError('encode: --split applies to --queries only.');
  const limit = a.str('limit') === undefined ? undefined : a.int('limit', 0, 1);
  const onProgress = a.flag('quiet') ? undefined : stderrProgress();
  const work = { onProgress, signal };

  const t0 = performance.now();
  const data = await loadBeir(await sourcesFromPath(dataPath), work);
  for (const w of data.warnings) console.error(`warning: ${w.message}`);
  const m = await setupEncoder('encode', a, deps, work);
  const { encoder } = m;
  const loadMs = performance.now() - t0;

  const out = createWriteStream(outPath);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const t1 = performance.now();
  let count = 0;
  let cacheHit = false;
  try {
    if (a.flag('queries')) {
      let queries: BeirQuery[] = [...data.queries.values()];
      const split = a.str('split');
      if (split) {
        const qrels = data.qrels.get(split);
        if (!qrels) throw new UsageError(`encode: ${data.name} has no split "${split}"; it has ${[...data.qrels.keys()].join(', ')}.`);
        queries = splitQueries(queries, qrels);
      }
      queries = queries.slice(0, limit);
      const vectors = await encoder.encode(queries.map((q) => q.text), 'query', { batchSize: m.batchSize, ...work });
      await write(jsonl(queries.map((q) => q.id), vectors, encoder.dim));
      count = queries.length;
    } else {
      const docs = limit === undefined ? data.docs : data.docs.slice(0, limit);
      const corpusChecksum = limit === undefined ? data.checksum : `${data.checksum}#limit=${limit}`;
      const sink = m.sinkFor(corpusChecksum);
      const r = await encodeCorpus(encoder, docs, sink, { modelHash: m.modelHash, corpusChecksum, chunkSize: DEFAULT_CHUNK_SIZE, batchSize: m.batchSize, totalDocs: docs.length,
        quantizeFrom: m.precision === 'f32' ? undefined : m.sinkFor(corpusChecksum, 'f32'), ...work });
      cacheHit = r.encodedDocs === 0;
      for (let c = 0; c < r.manifest.chunksDone; c++) {
        const ids = await sink.readIds(c);
        await write(jsonl(ids, await sink.readVectors(c), encoder.dim));
        count += ids.length;
      }
    }
  } finally {
    out.end();
    await once(out, 'close');
    encoder.dispose();
  }
  const encodeMs = performance.now() - t1;
  const kind = a.flag('queries') ? 'queries' : 'docs';
  if (a.flag('json')) {
    console.log(JSON.stringify({ out: outPath, kind, count, dim: encoder.dim, model: m.name, modelHash: m.modelHash, preset: m.preset ?? null, settings: encoder.settings, backend: m.backend, embeddingsPrecision: m.precision, cacheHit, timings: { loadMs, encodeMs } }));
    return;
  }
  console.log(`${data.name} · ${count} ${kind} · ${m.name} (dim ${encoder.dim}, ${encoder.settings.pooling} pooling${encoder.settings.normalize ? ', normalised' : ''}) · ${m.backend}`);
  console.log(`wrote ${outPath} in ${formatDuration(encodeMs / 1000)}${cacheHit ? ' (corpus embeddings from the cache)' : ''}`);
}
