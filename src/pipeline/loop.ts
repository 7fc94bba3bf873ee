// The ExpandR joint loop (paper §3, DESIGN.md §1) and every row of Tables 2–3 from one config.
//
// Round t = 1..R: the retriever E_t is trained from E_{t-1} on train queries expanded by LLM_{t-1}
// (Eq. 8–9); LLM_{t-1} samples candidates and Q2A answers, E_t scores them (Eqs. 11–14), and DPO on the
// chosen/rejected pairs gives LLM_t (Eq. 17). E_0 / LLM_0 are the models as loaded.
//
// Rows: BM25 · Raw = E_0, plain · Raw+expansion = E_0 + LLM_0's expansions · FT = E_0 trained on plain
// queries · ExpandR = E_R + LLM_R's expansions · w/o LLM training = E_1 + LLM_0's expansions ·
// w/o retriever training = E_0 + expansions of an LLM trained with E_0's rewards · w/o self-reward /
// w/o retriever reward = E_1 + expansions of an LLM trained with one reward term. The ablations are of
// round 1 (the paper's recipe is one round). Shared work is done once: LLM_0's expansions, round 1's
// candidates and answers feed every LLM-training row.
//
// Every stage runs through RunStages.once, so a killed run resumes at the stage it was in, and the
// trainers resume from their own checkpoints inside it.
//
// Several seeds (config.seeds, seeds.ts): the trained rows (FT, the rounds, the ablations) run once per
// seed, under names that carry it (round-1@seed7, eval:FT@seed7); each row is then the mean over its seeds.
//
// Variants (config.variants, results-variants.ts): after the first seed's rows (before the other seeds), round 1
// again with a variant's LLM-side settings from that seed's E_1, evaluated on dev only and tested against
// ExpandR after round 1.
//
// Train and test may come from different datasets (train-sources.ts): training (queries, gold documents,
// hard negatives, candidates, rewards) reads the train part of the train datasets, every setting is
// evaluated on the test split (the test corpus) and on the dev part (the train corpus). Dev is what
// choices may read; test is reported.
import type { BeirQuery } from '../data/types.ts';
import { flatText } from '../data/types.ts';
import { ExpandrError } from '../errors.ts';
import type { Encoder } from '../encoder/types.ts';
import type { DpoCheckpointSink, DpoStepMetrics } from '../train/dpo-checkpoint.ts';
import type { PreferencePair } from '../llm/dpo-data.ts';
import { buildTrainData, type TrainData } from '../train/examples.ts';
import { withSeries, type WorkOptions } from '../util/progress.ts';
import { variantConfig, variantStageName, type CandidateSettings, type ExperimentConfig, type RewardSettings } from './config.ts';
import { buildVariantRows, type VariantEval } from './results-variants.ts';
import type { DpoSettings } from '../llm/dpo.ts';
import type { TrainingCurve } from './figures-data.ts';
import { buildResults, type SettingEval } from './results.ts';
import { bm25Stage, denseStage, plainEvalStage, encoderFiles, expansionFileSet, expansionSource, trainRetrieverStage, type EvalOn, type EvalOut, type LoopContext } from './stages-retriever.ts';
import type { QuerySet } from './stages.ts';
import { checkNoOverlap, resolveTrainSource, type ExperimentSources, type TrainSource } from './train-sources.ts';
import type { ExperimentResults, PreferenceRecord, QueryWithGold, SettingName, TextGenerator } from './types.ts';
import { goldDocOf, splitQueries } from '../data/qrels.ts';
import type { QueryCandidates } from './candidates.ts';
import { combineBySetting, seededName, unseededName } from './seeds.ts';
import { buildPlainRows, combinePlain, type PlainOfSeed } from './results-plain.ts';
import { buildRoundRows, type RoundEvals } from './results-rounds.ts';

/** An adapter as a PEFT file set (adapter_config.json, adapter_model.safetensors); null: the base LLM. */
export type AdapterFiles = ReadonlyMap<string, Uint8Array> | null;

/** The LLM side of the loop, bound to the tfjs decoder in stages-llm.ts (or to WebLLM + tfjs in the app). */
export interface LlmSide {
  generator(adapter: AdapterFiles, name: string): Promise<TextGenerator & { dispose?(): void }>;
  /** Q2D expansions of `queries` (cached by generator id and prompt), sampled with `seed` (default: config.expansion.seed). */
  expand(gen: TextGenerator, queries: readonly BeirQuery[], work: WorkOptions, seed?: number): Promise<Map<string, string>>;
  /** Candidates at the config's temperatures (`settings`: a variant's instead) and the Q2A answers, as JSON (kept in the run state). */
  candidates(gen: TextGenerator, queries: readonly QueryWithGold[], work: WorkOptions, settings?: CandidateSettings): Promise<QueryCandidates[]>;
  /** Eqs. 11–14 with `encoder`: one record per query and the DPO pairs. */
  preferences(encoder: Encoder, candidates: readonly QueryCandidates[], queries: readonly QueryWithGold[], rewards: RewardSettings, work: WorkOptions): Promise<{ records: PreferenceRecord[]; pairs: PreferencePair[] }>;
  /** DPO (Eq. 17) on `pairs` starting from `from` with the config's DPO settings (`dpo`: a variant's); resumes from `checkpoints`. */
  trainDpo(pairs: readonly PreferencePair[], from: AdapterFiles, checkpoints: DpoCheckpointSink, work: WorkOptions, seed?: number, dpo?: Partial<DpoSettings>): Promise<{ adapter: Map<string, Uint8Array>; curve: DpoStepMetrics[] }>;
}

export interface ExperimentOutcome {
  results: ExperimentResults;
  evals: EvalOut[];
  /** The same settings on the dev queries (empty when the train datasets have no train split and nothing trains). */
  devEvals: EvalOut[];
  devQueries: BeirQuery[];
  /** Test-query expansions per expanded setting. */
  expansions: Map<SettingName, Map<string, string>>;
  preferences: Record<string, PreferenceRecord[]>;
  curves: TrainingCurve[];
  testQueries: BeirQuery[];
  trainQueries: QueryWithGold[];
  reusedStages: string[];
}

const LLM_ROWS: SettingName[] = ['ExpandR', 'w/o retriever training', 'w/o self-reward', 'w/o retriever reward'];
const ROUND_ROWS: SettingName[] = ['ExpandR', 'w/o LLM training', 'w/o self-reward', 'w/o retriever reward'];

const toRecord = (m: Map<string, string>) => Object.fromEntries(m);
const toMap = (o: Record<string, string>) => new Map(Object.entries(o));

/**
 * The rewards of each train query's pair as curve points (series `rewards:NAME`, step = the query's position
 * among those that gave a pair): the chosen and rejected candidates' reward and their difference.
 */
export function sendRewardPoints(work: WorkOptions, series: string, records: readonly PreferenceRecord[]): void {
  if (!work.onMetrics) return;
  let step = 0;
  for (const r of records) {
    if (r.chosen < 0 || r.rejected < 0) continue;
    const chosen = r.candidates[r.chosen].reward;
    const rejected = r.candidates[r.rejected].reward;
    work.onMetrics({ series, step: ++step, values: { chosen, rejected, margin: chosen - rejected } });
  }
}

/** One seed's evaluations, as the loop collects them (the config's seed first). */
interface SeedRun {
  seed: number;
  ctx: LoopContext;
  evals: EvalOut[];
  devEvals: EvalOut[];
  roundEvals: Record<number, { evals: EvalOut[]; devEvals: EvalOut[] }>;
  /** Retriever (its name at the config's seed) → its plain evaluations and the expanded row's they are read against. */
  plain: Map<string, PlainOfSeed>;
}

export async function runExperiment(ctx: LoopContext, llm: LlmSide | null): Promise<ExperimentOutcome> {
  const { config, data, stages } = ctx;
  const want = new Set(config.settings);
  if (!llm && [...want].some((s) => s === 'Raw+expansion' || ROUND_ROWS.includes(s) || LLM_ROWS.includes(s))) {
    throw new ExpandrError(`The settings ${config.settings.join(', ')} need an LLM, and none was given.`);
  }
  const testQrels = data.qrels.get(config.split);
  if (!testQrels) throw new ExpandrError(`${data.name} has no split "${config.split}"; it has ${[...data.qrels.keys()].join(', ')}.`);
  let testQueries = splitQueries(data.queries.values(), testQrels);
  if (config.testQueries > 0) testQueries = testQueries.slice(0, config.testQueries);
  const testIds = new Set(testQueries.map((q) => q.id));
  const qrels = new Map([...testQrels].filter(([q]) => testIds.has(q)));

  // The train datasets' train split cut into train and dev (a test-only dataset with nothing to train has neither).
  const needsTrain = [...want].some((s) => s === 'FT' || ROUND_ROWS.includes(s) || LLM_ROWS.includes(s));
  const trainSets = ctx.trainData?.length ? ctx.trainData : [data];
  let source: TrainSource | null = null;
  try {
    if (needsTrain || trainSets.every((d) => d.qrels.has(config.trainSplit))) source = resolveTrainSource(trainSets, config.trainSplit, config.dev);
  } catch (e) {
    // Nothing trains: a train split too small to cut only costs the dev rows.
    if (needsTrain || !(e instanceof ExpandrError)) throw e;
    ctx.log(`no dev split: ${e.message}`);
  }
  if (source) checkNoOverlap(data, config.split, source);
  const trainCorpus = source?.data ?? data;
  // Train queries of the train part with a gold document in the train corpus, in file order, the first N.
  const docText = new Map(trainCorpus.docs.map((d) => [d.id, flatText(d)]));
  const trainQueries: QueryWithGold[] = [];
  if (needsTrain) {
    for (const q of trainCorpus.queries.values()) {
      const gold = goldDocOf(source!.train, q.id, (id) => docText.has(id));
      if (gold) trainQueries.push({ qid: q.id, query: q.text, goldDocId: gold, goldDoc: docText.get(gold)! });
      if (config.trainQueries > 0 && trainQueries.length === config.trainQueries) break;
    }
  }
  const trainIds = new Set(trainQueries.map((q) => q.qid));
  // The LLM side (candidates, answers, rewards, DPO) on the first candidates.queries of them (0 = all): the
  // config's, or a variant's.
  const llmQueriesOf = (c: CandidateSettings) => (c.queries > 0 ? trainQueries.slice(0, c.queries) : trainQueries);
  const trainBeir = [...trainCorpus.queries.values()].filter((q) => trainIds.has(q.id));
  const trainData = (expansions?: Map<string, string>): TrainData => buildTrainData(trainCorpus.docs, trainBeir, source!.train, { expansions }).data;
  let devQueries = source ? splitQueries(trainCorpus.queries.values(), source.dev) : [];
  if (config.dev.queries > 0) devQueries = devQueries.slice(0, config.dev.queries);
  const devIds = new Set(devQueries.map((q) => q.id));
  const devQrels = new Map([...(source?.dev ?? [])].filter(([q]) => devIds.has(q)));
  const devOn: EvalOn | null = devQueries.length ? { queries: 'dev', data: trainCorpus } : null;

  const evals: EvalOut[] = [];
  const devEvals: EvalOut[] = [];
  const expansionsOut = new Map<SettingName, Map<string, string>>();
  const preferences: Record<string, PreferenceRecord[]> = {};
  const curves: TrainingCurve[] = [];

  // Generators are loaded lazily and one at a time (the decoder is the memory hog in the tab).
  let current: { name: string; gen: TextGenerator & { dispose?(): void } } | null = null;
  const generator = async (adapter: string | null) => {
    const name = adapter ?? 'base';
    if (current?.name === name) return current.gen;
    current?.gen.dispose?.();
    current = null;
    const files = adapter ? await ctx.store.getFiles(`adapters/${adapter}`) : null;
    if (adapter && !files) throw new ExpandrError(`The run store lacks adapters/${adapter} although its stage finished: ${ctx.store.startAfresh}, and run again to retrain.`);
    current = { name, gen: await llm!.generator(files ?? null, name) };
    return current.gen;
  };
  /**
   * Expansions of `queries` by the LLM with `adapter` (stage expansions:NAME:WHICH, files expansions/NAME-WHICH),
   * sampled with expansion.seed, or for `sampling` another seed's evaluation expansions: the base LLM's then go
   * by the name `base@seedS`, a tuned LLM's name carries its seed already.
   */
  const expansionsOf = async (adapter: string | null, which: QuerySet, sampling?: { seed: number; name: string }): Promise<Map<string, string>> => {
    const qs = which === 'test' ? testQueries : which === 'dev' ? devQueries : trainBeir;
    const name = adapter ?? sampling?.name ?? 'base';
    const out = await stages.once({ kind: 'expansions', llm: name, queries: which }, async () => {
      ctx.log(`expanding ${qs.length} ${which} queries with LLM ${name}`);
      const gen = await generator(adapter);
      const m = await llm!.expand(gen, qs, ctx.work, sampling?.seed);
      if (m.size < qs.length) ctx.log(`${qs.length - m.size} of ${qs.length} ${which} expansions failed after retries (not cached; those queries go without one): run afresh to try them again`);
      await ctx.store.putFiles(`expansions/${name}-${which}`, expansionFileSet(m, gen.provenance, qs.filter((q) => !m.has(q.id)).map((q) => q.id)));
      return toRecord(m);
    });
    return toMap(out);
  };
  /**
   * The expansions a row evaluated under run seed S reads: sampled with expansion.seed + (S − seed), so that
   * the rows of each seed (Raw+expansion among them when seededSettings has it) carry their own draw of the
   * LLM's sampling, and a row's mean over the seeds averages that noise too. The config's own seed samples
   * with expansion.seed, as before.
   */
  const evalSampling = (seed: number) => (seed === config.seed ? undefined : { seed: config.expansion.seed + (seed - config.seed), name: seededName('base', seed, config.seed) });
  const sameCandidates = (c: CandidateSettings) => JSON.stringify(c) === JSON.stringify(config.candidates);
  // A variant with other candidate settings samples under its own name (LLM~VARIANT); the texts it shares
  // with the config's (same prompt, temperature and sample index) come from the generation cache.
  const candidatesOf = (adapter: string | null, variant?: { llm: string; settings: CandidateSettings }) =>
    stages.once({ kind: 'candidates', llm: variant && !sameCandidates(variant.settings) ? `${adapter ?? 'base'}~${variant.llm}` : (adapter ?? 'base') }, async () => {
      const qs = llmQueriesOf(variant?.settings ?? config.candidates);
      ctx.log(`sampling candidates and answers for ${qs.length} train queries with LLM ${adapter ?? 'base'}${variant ? ` (variant ${variant.llm})` : ''}`);
      const sets = await llm!.candidates(await generator(adapter), qs, ctx.work, variant?.settings);
      const failed = sets.reduce((n, s) => n + (s.failed ?? 0), 0);
      if (failed) ctx.log(`${failed} candidate and answer generations failed after retries (not cached; left out, and ${sets.filter((s) => s.answerFailed).length} queries without an answer are skipped): run afresh to try them again`);
      return sets;
    });
  /** Preferences from `encoder`'s rewards on `adapter`'s candidates, then DPO → adapters/NAME. */
  // The seed the stages below train and evaluate with, and where their evaluations go (one list per seed).
  let run: SeedRun = { seed: config.seed, ctx, evals, devEvals, roundEvals: {}, plain: new Map() };
  const seedOn = <T extends object>(on: T): T & { seed?: number } => (run.seed === config.seed ? on : { ...on, seed: run.seed });
  // `variant`: the config a variant of round 1 runs with (its candidates and DPO settings; rewards as given).
  // `prefsOf`: the stage whose preferences to train on when they are the same pairs (a variant of DPO alone).
  const trainLlm = async (name: string, fromAdapter: string | null, encoderName: string, rewards: RewardSettings, variant?: ExperimentConfig, prefsOf = name): Promise<number> => {
    const cands = await candidatesOf(fromAdapter, variant && { llm: name, settings: variant.candidates });
    const prefs = await stages.once({ kind: 'preferences', name: prefsOf }, async () => {
      ctx.log(`scoring candidates with retriever ${encoderName} for ${name}`);
      const enc = await ctx.encoders.load(await encoderFiles(ctx, encoderName));
      try {
        const out = await llm!.preferences(enc, cands, llmQueriesOf((variant ?? config).candidates), rewards, ctx.work);
        sendRewardPoints(ctx.work, `rewards:${name}`, out.records);
        return out;
      } finally {
        enc.dispose();
      }
    });
    preferences[name] = prefs.records;
    const dpo = await stages.once({ kind: 'dpo', name }, async () => {
      if (prefs.pairs.length === 0) throw new ExpandrError(`No preference pairs for ${name}: every train query was skipped (see preferences). Use more train queries or candidates, or lower rewards.filter.`);
      ctx.log(`DPO ${name} on ${prefs.pairs.length} pairs (from LLM ${fromAdapter ?? 'base'})`);
      const from = fromAdapter ? ((await ctx.store.getFiles(`adapters/${fromAdapter}`)) ?? null) : null;
      const r = await llm!.trainDpo(prefs.pairs, from, ctx.store.dpoCheckpoints(`dpo-${name}`), withSeries(ctx.work, `dpo:${name}`), run.seed, variant?.dpo);
      await ctx.store.putFiles(`adapters/${name}`, r.adapter);
      const points = r.curve.map((p) => ({ step: p.step, loss: p.loss, chosenReward: p.chosenReward, rejectedReward: p.rejectedReward, margin: p.margin, accuracy: p.accuracy }));
      return { pairs: prefs.pairs.length, curve: { stage: `dpo:${name}`, kind: 'dpo' as const, points } };
    });
    curves.push(dpo.curve);
    return dpo.pairs;
  };
  /** A dense setting on test, then on dev; `adapter` undefined: plain queries, else that LLM's expansions (Eq. 8). */
  // `round`: ExpandR after an earlier round than the last, kept apart from the table's rows (roundEvals).
  const evalDense = async (setting: SettingName, encoderName: string, adapter?: string | null, round?: number) => {
    const sampling = evalSampling(run.seed);
    const m = adapter !== undefined ? await expansionsOf(adapter, 'test', sampling) : undefined;
    const source = (which: QuerySet) => (adapter !== undefined ? expansionSource(ctx, `expansions/${adapter ?? sampling?.name ?? 'base'}-${which}`) : undefined);
    if (m && round === undefined && !expansionsOut.has(setting)) expansionsOut.set(setting, m); // the first seed's
    const on = <T extends EvalOn>(o: T): T => seedOn(round === undefined ? o : { ...o, round });
    const test = await denseStage(ctx, setting, encoderName, testQueries, qrels, m, on({ queries: 'test' as const, data }), await source('test'));
    if (round === undefined) run.evals.push(test);
    else (run.roundEvals[round] ??= { evals: [], devEvals: [] }).evals.push(test);
    let dev: EvalOut | undefined;
    if (devOn) {
      const d = adapter !== undefined ? await expansionsOf(adapter, 'dev', sampling) : undefined;
      dev = await denseStage(ctx, setting, encoderName, devQueries, devQrels, d, on(devOn), await source('dev'));
      if (round === undefined) run.devEvals.push(dev);
      else run.roundEvals[round].devEvals.push(dev);
    }
    // A retriever trained on expanded queries, on the plain queries too, read against the first expanded row
    // that uses it (ExpandR after its round; w/o LLM training when ExpandR does not run): results-plain.ts.
    const retriever = unseededName(encoderName, run.seed, config.seed);
    if (adapter === undefined || encoderName === 'base' || run.plain.has(retriever)) return;
    const plainTest = await plainEvalStage(ctx, setting, encoderName, testQueries, qrels, seedOn({ queries: 'test' as const, data }));
    const plainDev = devOn ? await plainEvalStage(ctx, setting, encoderName, devQueries, devQrels, seedOn(devOn)) : undefined;
    run.plain.set(retriever, { versus: round === undefined ? setting : `ExpandR after round ${round}`, test: plainTest, dev: plainDev, expandedTest: test, expandedDev: dev });
  };

  // Variants of round 1 (config.variants), judged on dev: the first seed's E_1, each variant's own LLM_1.
  // They run right after the first seed's rows, before the other seeds: a variant that wins on dev changes
  // the config, and the other seeds would then run again under it.
  const variantEvals: VariantEval[] = [];
  if (config.variants.length && (!want.has('ExpandR') || !devOn)) {
    throw new ExpandrError('config.variants are tried against ExpandR after round 1 on dev: add "ExpandR" to settings and keep a dev split (dev.fraction), or remove the variants.');
  }
  const runVariants = async () => {
    const e1 = seededName('round-1', run.seed, config.seed);
    for (const v of config.variants) {
      const name = variantStageName(v);
      const vc = variantConfig(config, v);
      // A variant of DPO alone trains on round 1's pairs: the same candidates scored by the same E_1 with the same rewards.
      const samePairs = sameCandidates(vc.candidates) && JSON.stringify(vc.rewards) === JSON.stringify(config.rewards);
      const pairs = await trainLlm(name, null, e1, vc.rewards, vc, samePairs ? e1 : name);
      const on = seedOn({ ...devOn!, round: 1, variant: name });
      // Sampled as that seed's round-1 row samples its dev expansions, so the two differ by the LLM alone.
      const dev = await denseStage(ctx, 'ExpandR', e1, devQueries, devQrels, await expansionsOf(name, 'dev', evalSampling(run.seed)), on, await expansionSource(ctx, `expansions/${name}-dev`));
      variantEvals.push({ variant: v, llm: name, seed: run.seed, pairs, dev });
    }
  };

  if (want.has('BM25')) {
    evals.push(await bm25Stage(ctx, testQueries, qrels));
    if (devOn) devEvals.push(await bm25Stage(ctx, devQueries, devQrels, devOn));
  }
  if (want.has('Raw')) await evalDense('Raw', 'base');
  const seeded: (typeof run)[] = [];
  for (const seed of config.seeds) {
    run = { seed, ctx: seed === config.seed ? ctx : { ...ctx, config: { ...config, seed } }, evals: [], devEvals: [], roundEvals: {}, plain: new Map() };
    seeded.push(run);
    const tag = (name: string) => seededName(name, seed, config.seed);
    // Rows outside seededSettings run with the first seed only.
    const here = (s: SettingName) => want.has(s) && (seed === config.seeds[0] || config.seededSettings.includes(s));
    // Untrained, but an LLM row: seeded, each seed samples its own expansions (evalSampling).
    if (here('Raw+expansion')) await evalDense('Raw+expansion', 'base', null);
    if (here('FT')) {
      curves.push((await trainRetrieverStage(run.ctx, tag('FT'), 'base', trainData(), trainCorpus)).curve);
      await evalDense('FT', tag('FT'));
    }

    // The joint rounds: E_t from LLM_{t-1}'s expansions, then LLM_t from E_t's rewards.
    const rounds = ROUND_ROWS.some((s) => here(s)) ? (here('ExpandR') ? config.rounds : 1) : 0;
    let adapter: string | null = null;
    let encoderName = 'base';
    for (let t = 1; t <= rounds; t++) {
      const train = await expansionsOf(adapter, 'train');
      curves.push((await trainRetrieverStage(run.ctx, tag(`round-${t}`), encoderName, trainData(train), trainCorpus)).curve);
      encoderName = tag(`round-${t}`);
      if (here('ExpandR')) {
        await trainLlm(tag(`round-${t}`), adapter, encoderName, config.rewards);
        adapter = tag(`round-${t}`);
        // Does a later round add anything? ExpandR as it stands after this round (the row is the last round's).
        if (t < rounds) await evalDense('ExpandR', encoderName, adapter, t);
      }
    }
    if (here('ExpandR')) await evalDense('ExpandR', encoderName, adapter);
    if (here('w/o LLM training')) await evalDense('w/o LLM training', tag('round-1'), null);
    if (here('w/o retriever training')) {
      await trainLlm(tag('wo-retriever-training'), null, 'base', config.rewards);
      await evalDense('w/o retriever training', 'base', tag('wo-retriever-training'));
    }
    if (here('w/o self-reward')) {
      await trainLlm(tag('wo-self-reward'), null, tag('round-1'), { ...config.rewards, selfReward: false });
      await evalDense('w/o self-reward', tag('round-1'), tag('wo-self-reward'));
    }
    if (here('w/o retriever reward')) {
      await trainLlm(tag('wo-retriever-reward'), null, tag('round-1'), { ...config.rewards, retrieverReward: false });
      await evalDense('w/o retriever reward', tag('round-1'), tag('wo-retriever-reward'));
    }
    if (seed === config.seeds[0] && config.variants.length) await runVariants();
  }
  (current as { gen: { dispose?(): void } } | null)?.gen.dispose?.();
  // One row per trained setting: the mean over the seeds (per query too, for the paired tests).
  evals.push(...combineBySetting(seeded.map((r) => ({ seed: r.seed, evals: r.evals }))));
  devEvals.push(...combineBySetting(seeded.map((r) => ({ seed: r.seed, evals: r.devEvals }))));

  const results = buildResults(data.name, config.split, evals as SettingEval[], { seed: config.seed });
  const devBy = new Map(devEvals.map((e) => [e.setting, e.metrics]));
  for (const row of results.rows) {
    const m = devBy.get(row.setting);
    if (m) row.dev = { 'ndcg@10': m['ndcg@10'], 'recall@100': m['recall@100'], 'mrr@10': m['mrr@10'], 'map@100': m['map@100'], queries: devQueries.length };
  }
  // ExpandR after each earlier round (rounds > 1), combined over its seeds as the rows are.
  const roundEvals: RoundEvals[] = [];
  for (let t = 1; t < config.rounds; t++) {
    const runs = seeded.filter((r) => r.roundEvals[t]);
    if (!runs.length) continue;
    const [test] = combineBySetting(runs.map((r) => ({ seed: r.seed, evals: r.roundEvals[t].evals })));
    const [dev] = combineBySetting(runs.map((r) => ({ seed: r.seed, evals: r.roundEvals[t].devEvals })));
    roundEvals.push({ round: t, test: test as SettingEval, ...(dev ? { dev: dev as SettingEval } : {}) });
  }
  if (roundEvals.length) results.roundRows = buildRoundRows(evals as SettingEval[], roundEvals, { seed: config.seed });
  if (variantEvals.length) {
    const first = seeded[0];
    const round1Dev = (config.rounds > 1 ? first.roundEvals[1]?.devEvals : first.devEvals)?.find((e) => e.setting === 'ExpandR') ?? null;
    results.variants = buildVariantRows(variantEvals, round1Dev as SettingEval | null);
  }
  const plainRows = buildPlainRows(combinePlain(seeded));
  if (plainRows.length) results.plainRows = plainRows;
  if (source) {
    const sources: ExperimentSources = { test: { dataset: data.name, checksum: data.checksum, split: config.split, queries: testQueries.length }, train: source.records, devQueries: devQueries.length };
    results.sources = sources;
  }
  return { results, evals, devEvals, devQueries, expansions: expansionsOut, preferences, curves, testQueries, trainQueries, reusedStages: stages.reused };
}
