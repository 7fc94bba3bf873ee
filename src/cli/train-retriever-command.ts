// `expandr train-retriever`: contrastive training of a BERT-family encoder on a BEIR split (paper §3.2,
// DESIGN.md §5), optionally on expanded queries and after corpus pretraining; writes a
// sentence-transformers folder (or zip) that loads in Python. Checkpoints go to OUT/checkpoint/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFolder, writeFileAtomic } from './atomic-files.ts';
import { UsageError } from '../errors.ts';
import { sourcesFromPath } from '../data/node-sources.ts';
import { loadBeir } from '../data/load.ts';
import { BertEncoder, loadBertEncoder } from '../encoder/encoder.ts';
import { ENCODER_PRESETS } from '../encoder/presets.ts';
import { modelFilesFromPath } from '../model/sources-node.ts';
import { parseExpansions } from '../retrieval/dense/expansions.ts';
import { folderCheckpointSink } from './checkpoint-folders.ts';
import { exportBertEncoder, zipFolder } from '../encoder/st-folder.ts';
import { trainedSettings } from '../train/settings.ts';
import { buildTrainData, mineBm25Negatives } from '../train/examples.ts';
import { EXPANSION_NORMS, EXPANSION_NORM_SPECS, type ExpansionNorm } from '../retrieval/dense/expanded-query.ts';
import { supervisedSteps, TRAIN_DEFAULTS, type RetrieverTrainSettings } from '../train/settings.ts';
import type { TrainCheckpoint } from '../train/checkpoint.ts';
import { cutDevSplit, DEFAULT_DEV_FRACTION, DEFAULT_DEV_SEED } from '../data/dev-split.ts';
import { trainRetriever } from '../train/trainer.ts';
import { formatDuration } from '../util/format.ts';
import { parseCommandArgs } from './args.ts';
import { BACKEND_HELP, parseBackend, useBackend } from './backend.ts';
import { guessPreset } from './encoder-setup.ts';
import { stderrProgress } from './progress.ts';
import { registerGradientsNode } from './tfjs-gradients.ts';

const D = TRAIN_DEFAULTS;
export const TRAIN_RETRIEVER_HELP = `train-retriever  Train a dense retriever (InfoNCE, in-batch negatives) on a BEIR split; writes a sentence-transformers folder.

Options:
  --data PATH            BEIR folder or zip                                                  (required)
  --split NAME           qrels split to train on (default train)
  --dev-fraction X       hold out X of the split's queries as dev (seeded by --dev-seed N, default 42) and train
                         on the rest; eval --split dev --dev-fraction X --dev-seed N evaluates the held-out part
  --encoder PATH         model folder or zip to start from                                   (required)
  --preset ID            settings preset when the folder has no sentence-transformers files
  --out PATH             output folder, or a .zip                                            (required)
  --expansions FILE      JSONL {"id", "expansion"}: train on q_exp = (E(q) + E(e)) / 2 (Eq. 8)
  --expansion-norm NAME  Eq. 8 normalisation, as eval's: contriever: normalise q, e, d, τ ${EXPANSION_NORM_SPECS.contriever.temperature} (exported with
                         Normalize) | raw: dot product, τ ${EXPANSION_NORM_SPECS.raw.temperature} (default ${D.expansionNorm}; --variant is the old name)
  --steps N              optimizer steps (default: --epochs passes over the queries)
  --epochs X             passes when --steps is not given (default ${D.epochs})
  --batch N              queries per batch = in-batch negatives pool (default ${D.batchSize})
  --accumulation N       batches per optimizer step (default ${D.accumulation})
  --grad-cache-chunk N   GradCache: rows per forward pass, bounds memory (default off)
  --lr X                 peak learning rate (default ${D.lr}); warmup --warmup X (ratio, default ${D.warmupRatio}) then linear decay
  --temperature X        InfoNCE τ (default: the normalisation's)
  --weight-decay X       AdamW decoupled weight decay (default ${D.weightDecay})
  --max-grad-norm X      gradient-norm clip, 0 = off (default ${D.maxGradNorm})
  --hard-negatives KIND  bm25: one hard negative per query from BM25's top --negative-depth N (default ${D.negativeDepth}) | none (default)
  --no-dropout           train without dropout
  --pretrain-steps N     Contriever-style independent-cropping steps on the corpus first (default 0)
  --pretrain-lr X        (default ${D.pretrainLr});  --pretrain-batch N (default ${D.pretrainBatchSize})
  --max-length N         truncate training texts to N tokens (default: the encoder's); the output keeps the encoder's
  --seed N               (default ${D.seed})
  --checkpoint-every N   save OUT/checkpoint/ every N steps (and at the end)
  --snapshot-every N     also export the model as it is every N steps (and at the end) to OUT/snapshots/step-N,
                         to choose the checkpoint on dev afterwards (implies --checkpoint-every N when not given)
  --resume               continue from OUT/checkpoint/ when it exists
${BACKEND_HELP}
  --json                 print one JSON object as the last line ({"loss": final loss, ...})
  --quiet                no progress on stderr`;

/**
 * Writes a folder map under `out` (or a zip when `out` ends in .zip), each file written beside its target
 * and renamed over it, so that a kill leaves whole files (OUT also holds checkpoint/ and snapshots/, so the
 * folder itself is not swapped; a snapshot folder is, whole).
 */
function writeOut(out: string, files: Map<string, Uint8Array>, whole = false): void {
  if (out.toLowerCase().endsWith('.zip')) return writeFileAtomic(out, zipFolder(files));
  if (whole) return replaceFolder(out, files);
  for (const [name, bytes] of files) writeFileAtomic(join(out, name), bytes);
}

export async function trainRetrieverCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const a = parseCommandArgs('train-retriever', argv, {
    data: { type: 'string' },
    split: { type: 'string', default: 'train' },
    'dev-fraction': { type: 'string' },
    'dev-seed': { type: 'string' },
    'snapshot-every': { type: 'string' },
    encoder: { type: 'string' },
    preset: { type: 'string' },
    out: { type: 'string' },
    expansions: { type: 'string' },
    'expansion-norm': { type: 'string' },
    variant: { type: 'string' },
    steps: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    accumulation: { type: 'string' },
    'grad-cache-chunk': { type: 'string' },
    lr: { type: 'string' },
    warmup: { type: 'string' },
    temperature: { type: 'string' },
    'weight-decay': { type: 'string' },
    'max-grad-norm': { type: 'string' },
    'hard-negatives': { type: 'string' },
    'negative-depth': { type: 'string' },
    'no-dropout': { type: 'boolean' },
    'pretrain-steps': { type: 'string' },
    'pretrain-lr': { type: 'string' },
    'pretrain-batch': { type: 'string' },
    'max-length': { type: 'string' },
    seed: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    resume: { type: 'boolean' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  const dataPath = a.need('data');
  const encoderPath = a.need('encoder');
  const out = a.need('out');
  const split = a.need('split');
  const normName = a.str('expansion-norm') ?? a.str('variant') ?? D.expansionNorm;
  if (!EXPANSION_NORMS.includes(normName as ExpansionNorm)) throw new UsageError(`train-retriever: --expansion-norm must be ${EXPANSION_NORMS.join(' or ')}, got "${normName}".`);
  const expansionNorm = normName as ExpansionNorm;
  const hard = a.str('hard-negatives') ?? 'none';
  if (hard !== 'bm25' && hard !== 'none') throw new UsageError(`train-retriever: --hard-negatives must be bm25 or none, got "${hard}".`);
  const settings: RetrieverTrainSettings = {
    ...D,
    seed: a.int('seed', D.seed),
    steps: a.int('steps', D.steps, 0),
    epochs: a.num('epochs', D.epochs),
    batchSize: a.int('batch', D.batchSize, 1),
    accumulation: a.int('accumulation', D.accumulation, 1),
    gradCacheChunk: a.int('grad-cache-chunk', D.gradCacheChunk, 0),
    lr: a.num('lr', D.lr),
    warmupRatio: a.num('warmup', D.warmupRatio),
    weightDecay: a.num('weight-decay', D.weightDecay),
    maxGradNorm: a.num('max-grad-norm', D.maxGradNorm),
    expansionNorm,
    temperature: a.str('temperature') === undefined ? null : a.num('temperature', 1),
    hardNegatives: hard === 'bm25',
    negativeDepth: a.int('negative-depth', D.negativeDepth, 1, 1000),
    dropout: !a.flag('no-dropout'),
    checkpointEvery: a.int('checkpoint-every', a.int('snapshot-every', 0, 0), 0),
    pretrainSteps: a.int('pretrain-steps', 0, 0),
    pretrainLr: a.num('pretrain-lr', D.pretrainLr),
    pretrainBatchSize: a.int('pretrain-batch', D.pretrainBatchSize, 1),
  };
  const onProgress = a.flag('quiet') ? undefined : stderrProgress();
  const work = { onProgress, signal };

  const t0 = performance.now();
  await registerGradientsNode();
  const backend = await useBackend(parseBackend(a.str('backend')));
  const data = await loadBeir(await sourcesFromPath(dataPath), work);
  for (const w of data.warnings) console.error(`warning: ${w.message}`);
  const splitQrels = data.qrels.get(split);
  if (!splitQrels) throw new UsageError(`train-retriever: ${data.name} has no split "${split}"; it has ${[...data.qrels.keys()].join(', ')}.`);
  const devFraction = a.str('dev-fraction') === undefined ? null : a.num('dev-fraction', DEFAULT_DEV_FRACTION);
  const dev = devFraction === null ? null : cutDevSplit(splitQrels, split, devFraction, a.int('dev-seed', DEFAULT_DEV_SEED));
  const qrels = dev ? dev.train : splitQrels;
  if (dev) console.error(`dev: held out ${dev.record.devQueries} of ${splitQrels.size} "${split}" queries (fraction ${devFraction}, seed ${dev.record.seed}); training on ${dev.record.trainQueries}.`);
  const snapshotEvery = a.int('snapshot-every', 0, 0);
  if (snapshotEvery && settings.checkpointEvery && snapshotEvery % settings.checkpointEvery !== 0) {
    throw new UsageError(`train-retriever: --snapshot-every ${snapshotEvery} must be a multiple of --checkpoint-every ${settings.checkpointEvery} (snapshots are taken when a checkpoint is saved).`);
  }
  const expansionsPath = a.str('expansions');
  const expansions = expansionsPath ? parseExpansions(readFileSync(expansionsPath, 'utf8'), expansionsPath) : undefined;
  const model = await modelFilesFromPath(encoderPath, work);
  const preset = a.str('preset') ?? guessPreset(model.files, model.name);
  if (a.str('preset') && !ENCODER_PRESETS.some((p) => p.id === preset)) {
    throw new UsageError(`train-retriever: unknown --preset "${preset}"; known: ${ENCODER_PRESETS.map((p) => p.id).join(', ')}.`);
  }
  const maxLength = a.str('max-length') === undefined ? undefined : a.int('max-length', 512, 2, 8192);
  const loaded = await loadBertEncoder(model.files, { preset, seed: settings.seed });
  // --max-length truncates the training texts only; the exported folder keeps the model's own max_seq_length,
  // so that the fine-tuned model is evaluated (and used in Python) on the same text as the one it started from.
  const encoder: BertEncoder = maxLength ? new BertEncoder(loaded.model, loaded.tokenizer, { ...loaded.settings, maxLength }, loaded.configJson) : loaded;
  const loadMs = performance.now() - t0;

  try {
    const { data: train, missingExpansions } = buildTrainData(data.docs, data.queries.values(), qrels, { expansions });
    if (missingExpansions) console.error(`warning: ${missingExpansions} of ${train.examples.length} training queries have no expansion; they train on the plain query.`);
    const t1 = performance.now();
    if (settings.hardNegatives) await mineBm25Negatives(train, data.docs, { depth: settings.negativeDepth, ...work });
    const mineMs = performance.now() - t1;

    const useCheckpoints = settings.checkpointEvery > 0 || a.flag('resume');
    const folder = useCheckpoints && !out.toLowerCase().endsWith('.zip') ? folderCheckpointSink(join(out, 'checkpoint')) : undefined;
    if (useCheckpoints && !folder) throw new UsageError('train-retriever: --checkpoint-every / --resume / --snapshot-every need --out to be a folder, not a .zip.');
    const exported = trainedSettings(loaded.settings, expansionNorm);
    const trainingInfo = (lossCurve: unknown, step: number | null) => ({
      format: 'expandr-retriever',
      dataset: data.name,
      split,
      dev: dev?.record ?? null,
      examples: train.examples.length,
      expansions: expansions ? expansionsPath : null,
      baseModel: model.name,
      preset: preset ?? null,
      settings,
      trainMaxLength: encoder.settings.maxLength,
      step,
      lossCurve,
    });
    const totalSteps = settings.pretrainSteps + supervisedSteps(settings, train.examples.length);
    // A snapshot is the model at a saved checkpoint: the encoder's variables are the checkpoint's weights then.
    const checkpoints = folder && snapshotEvery
      ? {
          latest: () => folder.latest(),
          async save(c: TrainCheckpoint) {
            await folder.save(c);
            if (c.step % snapshotEvery === 0 || c.step === totalSteps) {
              writeOut(join(out, 'snapshots', `step-${c.step}`), await exportBertEncoder(encoder, model.files, { settings: exported, trainingInfo: trainingInfo(c.lossCurve, c.step) }), true);
            }
          },
        }
      : folder;
    const t2 = performance.now();
    const r = await trainRetriever(encoder, train, { settings, checkpoints, resume: a.flag('resume'), ...work });
    const trainMs = performance.now() - t2;

    writeOut(out, await exportBertEncoder(encoder, model.files, { settings: exported, trainingInfo: trainingInfo(r.lossCurve, r.totalSteps) }));

    const ran = r.totalSteps - (r.resumedFrom ?? 0);
    const per = (ms: number) => (r.timing.steps > 0 ? ms / r.timing.steps : null);
    const stepParts = { forwardMs: per(r.timing.forwardMs), lossMs: per(r.timing.lossMs), backwardMs: per(r.timing.backwardMs), optimizerMs: per(r.timing.optimizerMs) };
    const timings = { loadMs, mineMs, trainMs, msPerStep: ran > 0 ? trainMs / ran : null, perStep: stepParts };
    if (a.flag('json')) {
      const curve = r.lossCurve.map((p) => [p.step, p.loss, p.lr]);
      console.log(JSON.stringify({ loss: r.finalLoss, steps: r.totalSteps, examples: train.examples.length, out, dataset: data.name, split, dev: dev?.record ?? null, snapshots: snapshotEvery ? join(out, 'snapshots') : null, model: model.name, backend, resumedFrom: r.resumedFrom, missingExpansions, settings: r.settings, lossCurve: curve, timings }));
      return;
    }
    const first = r.lossCurve[0];
    console.log(`${data.name} · ${split} · ${train.examples.length} queries · ${model.name} · ${expansionNorm}${expansions ? ' + expansions' : ''} · ${backend}`);
    console.log(`${r.totalSteps} steps in ${formatDuration(trainMs / 1000)}: loss ${first ? first.loss.toFixed(4) : '—'} → ${r.finalLoss.toFixed(4)}`);
    if (r.timing.steps > 0) {
      const sec = (ms: number | null) => `${((ms ?? 0) / 1000).toFixed(1)} s`;
      console.log(`per step: forward without tape ${sec(stepParts.forwardMs)} · loss ${sec(stepParts.lossMs)} · forward + backward ${sec(stepParts.backwardMs)} · clip + AdamW ${sec(stepParts.optimizerMs)}`);
    }
    console.log(`wrote ${out} (sentence-transformers${exported.normalize ? ', normalised' : ''})`);
  } finally {
    encoder.dispose();
  }
}
