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
import type { BeirQuery } from '../data/types.ts';
import { flatText } from '../data/types.ts';
import { ExpandrError } from '../errors.ts';
import type { Encoder } from '../encoder/types.ts';
import type { DpoCheckpointSink, DpoStepMetrics } from '../train/dpo-checkpoint.ts';
import type { PreferencePair } from '../llm/dpo-data.ts';
import { buildTrainData, type TrainData } from '../train/examples.ts';
import type { WorkOptions } from '../util/progress.ts';
import type { RewardSettings } from './config.ts';
import type { TrainingCurve } from './figures-data.ts';
import { buildResults, type SettingEval } from './results.ts';
import { bm25Stage, denseStage, encoderFiles, trainRetrieverStage, type EvalOut, type LoopContext } from './stages-retriever.ts';
import type { ExperimentResults, PreferenceRecord, QueryWithGold, SettingName, TextGenerator } from './types.ts';
import { goldDocOf, splitQueries } from '../data/qrels.ts';
import type { QueryCandidates } from './candidates.ts';

/** An adapter as a PEFT file set (adapter_config.json, adapter_model.safetensors); null: the base LLM. */
export type AdapterFiles = ReadonlyMap<string, Uint8Array> | null;

/** The LLM side of the loop, bound to the tfjs decoder in stages-llm.ts (or to WebLLM + tfjs in the app). */
export interface LlmSide {
  generator(adapter: AdapterFiles, name: string): Promise<TextGenerator & { dispose?(): void }>;
  /** Q2D expansions of `queries` (cached by generator id and prompt). */
  expand(gen: TextGenerator, queries: readonly BeirQuery[], work: WorkOptions): Promise<Map<string, string>>;
  /** Candidates at the config's temperatures and the Q2A answers, as JSON (kept in the run state). */
  candidates(gen: TextGenerator, queries: readonly QueryWithGold[], work: WorkOptions): Promise<QueryCandidates[]>;
  /** Eqs. 11–14 with `encoder`: one record per query and the DPO pairs. */
  preferences(encoder: Encoder, candidates: readonly QueryCandidates[], queries: readonly QueryWithGold[], rewards: RewardSettings, work: WorkOptions): Promise<{ records: PreferenceRecord[]; pairs: PreferencePair[] }>;
  /** DPO (Eq. 17) on `pairs` starting from `from`; resumes from `checkpoints`. */
  trainDpo(pairs: readonly PreferencePair[], from: AdapterFiles, checkpoints: DpoCheckpointSink, work: WorkOptions): Promise<{ adapter: Map<string, Uint8Array>; curve: DpoStepMetrics[] }>;
}

export interface ExperimentOutcome {
  results: ExperimentResults;
  evals: EvalOut[];
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

export async function runExperiment(ctx: LoopContext, llm: LlmSide | null): Promise<ExperimentOutcome> {
  const { config, data, stages } = ctx;
  const want = new Set(config.settings);
  if (!llm && [...want].some((s) => s === 'Raw+expansion' || ROUND_ROWS.includes(s) || LLM_ROWS.includes(s))) {
    throw new ExpandrError(`The settings ${config.settings.join(', ')} need an LLM, and none was given.`);
  }
  const testQrels = data.qrels.get(config.split);
  const trainQrels = data.qrels.get(config.trainSplit);
  if (!testQrels) throw new ExpandrError(`${data.name} has no split "${config.split}"; it has ${[...data.qrels.keys()].join(', ')}.`);
  let testQueries = splitQueries(data.queries.values(), testQrels);
  if (config.testQueries > 0) testQueries = testQueries.slice(0, config.testQueries);
  const testIds = new Set(testQueries.map((q) => q.id));
  const qrels = new Map([...testQrels].filter(([q]) => testIds.has(q)));

  // Train queries with a gold document in the corpus, in file order, the first N.
  const needsTrain = [...want].some((s) => s === 'FT' || ROUND_ROWS.includes(s) || LLM_ROWS.includes(s));
  if (needsTrain && !trainQrels) throw new ExpandrError(`${data.name} has no train split "${config.trainSplit}"; it has ${[...data.qrels.keys()].join(', ')}.`);
  const docText = new Map(data.docs.map((d) => [d.id, flatText(d)]));
  const trainQueries: QueryWithGold[] = [];
  if (needsTrain) {
    for (const q of data.queries.values()) {
      const gold = goldDocOf(trainQrels!, q.id, (id) => docText.has(id));
      if (gold) trainQueries.push({ qid: q.id, query: q.text, goldDocId: gold, goldDoc: docText.get(gold)! });
      if (config.trainQueries > 0 && trainQueries.length === config.trainQueries) break;
    }
  }
  const trainIds = new Set(trainQueries.map((q) => q.qid));
  const trainBeir = [...data.queries.values()].filter((q) => trainIds.has(q.id));
  const trainData = (expansions?: Map<string, string>): TrainData => buildTrainData(data.docs, trainBeir, trainQrels!, { expansions }).data;

  const evals: EvalOut[] = [];
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
  /** Expansions of `queries` by the LLM with `adapter` (stage expansions:ADAPTER:WHICH). */
  const expansionsOf = async (adapter: string | null, which: 'test' | 'train'): Promise<Map<string, string>> => {
    const qs = which === 'test' ? testQueries : trainBeir;
    const out = await stages.once({ kind: 'expansions', llm: adapter ?? 'base', queries: which }, async () => {
      ctx.log(`expanding ${qs.length} ${which} queries with LLM ${adapter ?? 'base'}`);
      const m = await llm!.expand(await generator(adapter), qs, ctx.work);
      const jsonl = [...m].map(([id, expansion]) => JSON.stringify({ id, expansion })).join('\n') + '\n';
      await ctx.store.putFiles(`expansions/${adapter ?? 'base'}-${which}`, new Map([['expansions.jsonl', new TextEncoder().encode(jsonl)]]));
      return toRecord(m);
    });
    return toMap(out);
  };
  const candidatesOf = (adapter: string | null) =>
    stages.once({ kind: 'candidates', llm: adapter ?? 'base' }, async () => {
      ctx.log(`sampling candidates and answers for ${trainQueries.length} train queries with LLM ${adapter ?? 'base'}`);
      return llm!.candidates(await generator(adapter), trainQueries, ctx.work);
    });
  /** Preferences from `encoder`'s rewards on `adapter`'s candidates, then DPO → adapters/NAME. */
  const trainLlm = async (name: string, fromAdapter: string | null, encoderName: string, rewards: RewardSettings): Promise<void> => {
    const cands = await candidatesOf(fromAdapter);
    const prefs = await stages.once({ kind: 'preferences', name }, async () => {
      ctx.log(`scoring candidates with retriever ${encoderName} for ${name}`);
      const enc = await ctx.encoders.load(await encoderFiles(ctx, encoderName));
      try {
        return await llm!.preferences(enc, cands, trainQueries, rewards, ctx.work);
      } finally {
        enc.dispose();
      }
    });
    preferences[name] = prefs.records;
    const dpo = await stages.once({ kind: 'dpo', name }, async () => {
      if (prefs.pairs.length === 0) throw new ExpandrError(`No preference pairs for ${name}: every train query was skipped (see preferences). Use more train queries or candidates, or lower rewards.filter.`);
      ctx.log(`DPO ${name} on ${prefs.pairs.length} pairs (from LLM ${fromAdapter ?? 'base'})`);
      const from = fromAdapter ? ((await ctx.store.getFiles(`adapters/${fromAdapter}`)) ?? null) : null;
      const r = await llm!.trainDpo(prefs.pairs, from, ctx.store.dpoCheckpoints(`dpo-${name}`), ctx.work);
      await ctx.store.putFiles(`adapters/${name}`, r.adapter);
      const points = r.curve.map((p) => ({ step: p.step, loss: p.loss, chosenReward: p.chosenReward, rejectedReward: p.rejectedReward, margin: p.margin }));
      return { pairs: prefs.pairs.length, curve: { stage: `dpo:${name}`, kind: 'dpo' as const, points } };
    });
    curves.push(dpo.curve);
  };
  const evalExpanded = async (setting: SettingName, encoderName: string, adapter: string | null) => {
    const m = await expansionsOf(adapter, 'test');
    expansionsOut.set(setting, m);
    evals.push(await denseStage(ctx, setting, encoderName, testQueries, qrels, m));
  };

  if (want.has('BM25')) evals.push(await bm25Stage(ctx, testQueries, qrels));
  if (want.has('Raw')) evals.push(await denseStage(ctx, 'Raw', 'base', testQueries, qrels));
  if (want.has('Raw+expansion')) await evalExpanded('Raw+expansion', 'base', null);
  if (want.has('FT')) {
    curves.push((await trainRetrieverStage(ctx, 'FT', 'base', trainData())).curve);
    evals.push(await denseStage(ctx, 'FT', 'FT', testQueries, qrels));
  }

  // The joint rounds: E_t from LLM_{t-1}'s expansions, then LLM_t from E_t's rewards.
  const rounds = ROUND_ROWS.some((s) => want.has(s)) ? (want.has('ExpandR') ? config.rounds : 1) : 0;
  let adapter: string | null = null;
  let encoderName = 'base';
  for (let t = 1; t <= rounds; t++) {
    const train = await expansionsOf(adapter, 'train');
    curves.push((await trainRetrieverStage(ctx, `round-${t}`, encoderName, trainData(train))).curve);
    encoderName = `round-${t}`;
    if (want.has('ExpandR')) {
      await trainLlm(`round-${t}`, adapter, encoderName, config.rewards);
      adapter = `round-${t}`;
    }
  }
  if (want.has('ExpandR')) await evalExpanded('ExpandR', encoderName, adapter);
  if (want.has('w/o LLM training')) await evalExpanded('w/o LLM training', 'round-1', null);
  if (want.has('w/o retriever training')) {
    await trainLlm('wo-retriever-training', null, 'base', config.rewards);
    await evalExpanded('w/o retriever training', 'base', 'wo-retriever-training');
  }
  if (want.has('w/o self-reward')) {
    await trainLlm('wo-self-reward', null, 'round-1', { ...config.rewards, selfReward: false });
    await evalExpanded('w/o self-reward', 'round-1', 'wo-self-reward');
  }
  if (want.has('w/o retriever reward')) {
    await trainLlm('wo-retriever-reward', null, 'round-1', { ...config.rewards, retrieverReward: false });
    await evalExpanded('w/o retriever reward', 'round-1', 'wo-retriever-reward');
  }
  (current as { gen: { dispose?(): void } } | null)?.gen.dispose?.();

  const results = buildResults(data.name, config.split, evals as SettingEval[], { seed: config.seed });
  return { results, evals, expansions: expansionsOut, preferences, curves, testQueries, trainQueries, reusedStages: stages.reused };
}
