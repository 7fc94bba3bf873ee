// `expandr init-encoder`: a small, untrained BERT encoder whose WordPiece vocabulary is built from a BEIR
// corpus (src/encoder/init-encoder.ts), written as a sentence-transformers folder — the encoder to give
// `eval --retriever dense` (Raw) and `train-retriever` (FT) when no pretrained model can be downloaded.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.ts';
import { sourcesFromPath } from '../data/node-sources.ts';
import { loadBeir } from '../data/load.ts';
import { flatText } from '../data/types.ts';
import { INIT_ENCODER_DEFAULTS as D, initEncoder } from '../encoder/init-encoder.ts';
import { VOCAB_DEFAULTS } from '../encoder/vocab-builder.ts';
import { formatBytes, formatCount, formatDuration } from '../util/format.ts';
import { parseCommandArgs } from './args.ts';
import { stderrProgress } from './progress.ts';

export const INIT_ENCODER_HELP = `init-encoder  A random small BERT with a WordPiece vocabulary built from a BEIR corpus: a sentence-transformers folder.

Options:
  --data PATH          BEIR folder or zip: the corpus (title + " " + text) the vocabulary comes from   (required)
  --out DIR            output folder (files in it are overwritten)                                     (required)
  --vocab-size N       tokens in vocab.txt, specials and characters included (default ${VOCAB_DEFAULTS.vocabSize})
  --min-count N        whole words seen fewer times are split into pieces (default ${VOCAB_DEFAULTS.minWordCount})
  --hidden N           hidden size (default ${D.hidden});  --layers N (default ${D.layers});  --heads N (default ${D.heads})
  --intermediate N     feed-forward size (default ${D.intermediate})
  --max-positions N    position table, max_position_embeddings (default ${D.maxPositions})
  --max-length N       tokens per text when encoding, max_seq_length (default ${D.maxLength})
  --pooling NAME       mean (default) or cls
  --normalize          add a Normalize module (cosine scores); default: dot product
  --seed N             weight initialisation seed (default ${D.seed})
  --json               print one JSON object as the last line
  --quiet              no progress on stderr`;

export async function initEncoderCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const a = parseCommandArgs('init-encoder', argv, {
    data: { type: 'string' },
    out: { type: 'string' },
    'vocab-size': { type: 'string' },
    'min-count': { type: 'string' },
    hidden: { type: 'string' },
    layers: { type: 'string' },
    heads: { type: 'string' },
    intermediate: { type: 'string' },
    'max-positions': { type: 'string' },
    'max-length': { type: 'string' },
    pooling: { type: 'string' },
    normalize: { type: 'boolean' },
    seed: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  const dataPath = a.need('data');
  const out = a.need('out');
  if (out.toLowerCase().endsWith('.zip')) throw new UsageError('init-encoder: --out must be a folder.');
  const pooling = a.str('pooling') ?? D.pooling;
  if (pooling !== 'mean' && pooling !== 'cls') throw new UsageError(`init-encoder: --pooling must be mean or cls, got "${pooling}".`);
  const hidden = a.int('hidden', D.hidden, 1, 4096);
  const heads = a.int('heads', D.heads, 1, 256);
  if (hidden % heads !== 0) throw new UsageError(`init-encoder: --hidden ${hidden} must be a multiple of --heads ${heads}.`);
  const maxPositions = a.int('max-positions', D.maxPositions, 2, 8192);
  const options = {
    vocab: { vocabSize: a.int('vocab-size', VOCAB_DEFAULTS.vocabSize, 300, 1_000_000), minWordCount: a.int('min-count', VOCAB_DEFAULTS.minWordCount, 1) },
    hidden,
    layers: a.int('layers', D.layers, 1, 64),
    heads,
    intermediate: a.int('intermediate', D.intermediate, 1, 65536),
    maxPositions,
    maxLength: a.int('max-length', D.maxLength, 2, maxPositions),
    pooling: pooling as 'mean' | 'cls',
    normalize: a.flag('normalize'),
    seed: a.int('seed', D.seed),
  } as const;
  const work = { onProgress: a.flag('quiet') ? undefined : stderrProgress(), signal };

  const t0 = performance.now();
  const data = await loadBeir(await sourcesFromPath(dataPath), work);
  for (const w of data.warnings) console.error(`warning: ${w.message}`);
  if (data.docs.length === 0) throw new UsageError(`init-encoder: ${data.name} has no documents.`);
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  let r;
  try {
    r = initEncoder(
      data.docs.map((d) => flatText(d)),
      options,
    );
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`init-encoder: ${e.message}`);
    throw e;
  }
  const buildMs = performance.now() - t1;
  let bytes = 0;
  for (const [name, b] of r.files) {
    mkdirSync(dirname(join(out, name)), { recursive: true });
    writeFileSync(join(out, name), b);
    bytes += b.length;
  }
  const c = r.config;
  if (a.flag('json')) {
    const config = { vocabSize: c.vocabSize, hidden: c.hiddenSize, layers: c.numLayers, heads: c.numHeads, intermediate: c.intermediateSize, maxPositions: c.maxPositions };
    console.log(JSON.stringify({ out, dataset: data.name, docs: data.docs.length, config, settings: r.settings, seed: options.seed, parameters: r.parameters, vocab: r.vocab.stats, bytes, timings: { loadMs, buildMs } }));
    return;
  }
  const s = r.vocab.stats;
  console.log(`${data.name} · ${formatCount(data.docs.length)} docs · ${formatCount(s.distinctWords)} distinct words`);
  console.log(
    `vocab ${formatCount(c.vocabSize)}: ${s.specials} special, ${s.characters} characters (+ '##'), ${formatCount(s.words)} words, ${formatCount(s.suffixes)} '##' endings`,
  );
  console.log(
    `BertModel ${c.numLayers} × ${c.hiddenSize} (${c.numHeads} heads, ff ${c.intermediateSize}), ${formatCount(r.parameters)} weights, ${r.settings.pooling} pooling, max length ${r.settings.maxLength}, seed ${options.seed}`,
  );
  console.log(`wrote ${out} (${formatBytes(bytes)}) in ${formatDuration((loadMs + buildMs) / 1000)}`);
}
