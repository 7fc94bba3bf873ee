// The experiment's stages as one typed table: what each stage is called, what it reads and writes, what
// its resume record (the JSON kept in the run state, run-state.ts) holds, and which step of the page it
// belongs to. loop.ts and stages-retriever.ts run stages through `RunStages.once(stage, fn)` with a typed
// StageId, so a stage's output type is checked where it is made and where it is read back; the stage
// name in the run state is `stageName(id)` (the format of earlier runs, so they still resume), and
// `parseStageName` is the one place that reads a name back.
import type { PreferencePair } from '../llm/dpo-data.ts';
import type { QueryCandidates } from './candidates.ts';
import type { PairVectors, TrainingCurve } from './figures-data.ts';
import type { SettingEval } from './results.ts';
import type { PreferenceRecord, SettingName } from './types.ts';

/** A dense or BM25 evaluation of one setting, with the t-SNE sample of its query/document vectors. */
export type EvalOut = SettingEval & { pairs?: PairVectors };

export interface RetrieverStageOut {
  finalLoss: number;
  steps: number;
  curve: TrainingCurve;
}

/** Which LLM made something: 'base' (LLM_0) or the name of a DPO adapter (adapters/NAME). */
export type LlmName = string;

/** Every stage kind: the key that names one instance, and the resume record it stores. */
export interface StageKinds {
  /** Q2D expansions (Eq. 3) of the test, train or dev queries by one LLM; record: qid → expansion. */
  expansions: { key: { llm: LlmName; queries: QuerySet }; record: Record<string, string> };
  /** Candidates sampled at each temperature (Eq. 15) and the Q2A answer y (Eq. 12) of every train query, by one LLM. */
  candidates: { key: { llm: LlmName }; record: QueryCandidates[] };
  /** Rewards (Eqs. 11, 13, 14) of the candidates, the 0.6 filter, and the chosen/rejected pairs (Eq. 16). */
  preferences: { key: { name: string }; record: { records: PreferenceRecord[]; pairs: PreferencePair[] } };
  /** DPO (Eq. 17) into adapters/NAME; record: pair count and the curve. */
  dpo: { key: { name: string }; record: { pairs: number; curve: TrainingCurve } };
  /** Contrastive training (Eq. 9) into encoders/NAME; record: final loss, steps and the curve. */
  retriever: { key: { name: string }; record: RetrieverStageOut };
  /** Evaluation of one setting of Tables 2-3 on the test queries (metrics, per-query values, run file). */
  eval: { key: EvalKey; record: EvalOut };
  /** The same setting on the dev queries (train-sources.ts), on the train corpus; run file runs/SETTING-dev. */
  devEval: { key: EvalKey; record: EvalOut };
  /**
   * A retriever the loop trained on expanded queries (encoders/NAME), evaluated on the plain test or dev
   * queries: which half of an expanded row's result is the retriever's and which the expansion's at search time.
   */
  plainEval: { key: { encoder: string; queries: 'test' | 'dev' }; record: EvalOut };
}

/** One setting's evaluation; `seed` for a trained setting's run with a seed other than the config's (seeds.ts). */
export interface EvalKey {
  setting: SettingName;
  seed?: number;
  /** ExpandR after round `round` of several (config.rounds > 1): the row is the last round's. */
  round?: number;
  /** A variant of round 1 tried on dev (config.ts variantStageName): 'variant-SLUG-HASH'. */
  variant?: string;
}

/** '@roundT', '@seedS' and '@variant-…' after an evaluation's setting in its stage name; '' for the last round, the config's own seed and no variant. */
export const evalTag = (id: Omit<EvalKey, 'setting'>) => `${id.round === undefined ? '' : `@round${id.round}`}${id.seed === undefined ? '' : `@seed${id.seed}`}${id.variant === undefined ? '' : `@${id.variant}`}`;

/** The EvalKey of the part of a stage name after 'eval:' / 'devEval:'. */
function evalKeyOf(rest: string): EvalKey {
  const m = /^(.*?)(?:@round(\d+))?(?:@seed(\d+))?(?:@(variant-[a-z0-9-]+))?$/.exec(rest)!;
  return { setting: m[1] as SettingName, ...(m[2] === undefined ? {} : { round: Number(m[2]) }), ...(m[3] === undefined ? {} : { seed: Number(m[3]) }), ...(m[4] === undefined ? {} : { variant: m[4] }) };
}

/** Which queries a stage reads: the test split's, the train part's, or the dev part's. */
export type QuerySet = 'test' | 'train' | 'dev';

export type StageKind = keyof StageKinds;
export type StageId<K extends StageKind = StageKind> = { [P in K]: { kind: P } & StageKinds[P]['key'] }[K];
export type StageRecord<K extends StageKind> = StageKinds[K]['record'];

/** The page's steps (Expand → Train → Evaluate). */
export type PageStep = 'expand' | 'train' | 'evaluate';

interface StageInfo {
  /** What the stage reads (run-store file sets and earlier stages). */
  inputs: string;
  /** What it writes besides its record. */
  outputs: string;
  step: PageStep;
}

/** The table a reader (and the page's progress view) looks stages up in. */
export const STAGES: Readonly<Record<StageKind, StageInfo>> = Object.freeze({
  expansions: { inputs: 'the LLM (base or adapters/NAME), test or train queries', outputs: 'expansions/LLM-QUERIES/expansions.jsonl', step: 'expand' },
  candidates: { inputs: 'the LLM, train queries with their gold documents', outputs: 'generation cache entries', step: 'expand' },
  preferences: { inputs: 'candidates of an LLM, encoders/NAME (retriever reward)', outputs: 'nothing but the record', step: 'train' },
  dpo: { inputs: 'preferences:NAME, the adapter it starts from', outputs: 'adapters/NAME, checkpoints/dpo-NAME', step: 'train' },
  retriever: { inputs: 'an encoder (base or encoders/NAME), train queries with or without expansions', outputs: 'encoders/NAME, checkpoints/retriever-NAME', step: 'train' },
  eval: { inputs: 'an encoder or BM25, test queries, expansions for expanded settings', outputs: 'runs/SETTING/run.trec', step: 'evaluate' },
  devEval: { inputs: 'an encoder or BM25, dev queries and the train corpus, dev expansions for expanded settings', outputs: 'runs/SETTING-dev/run.trec', step: 'evaluate' },
  plainEval: { inputs: 'encoders/NAME, the plain test or dev queries, the corpus embeddings its expanded rows stored', outputs: 'runs/plain-NAME[-dev]/run.trec', step: 'evaluate' },
});

/** The stage's name in the run state, e.g. 'expansions:base:test', 'dpo:round-1', 'eval:FT'. */
export function stageName(id: StageId): string {
  switch (id.kind) {
    case 'expansions':
      return `expansions:${id.llm}:${id.queries}`;
    case 'candidates':
      return `candidates:${id.llm}`;
    case 'eval':
      return `eval:${id.setting}${evalTag(id)}`;
    case 'devEval':
      return `devEval:${id.setting}${evalTag(id)}`;
    case 'plainEval':
      return `plainEval:${id.encoder}:${id.queries}`;
    default:
      return `${id.kind}:${id.name}`;
  }
}

/** The StageId of a stored stage name; null for a name this version does not know. */
export function parseStageName(name: string): StageId | null {
  const at = name.indexOf(':');
  const kind = name.slice(0, at) as StageKind;
  const rest = name.slice(at + 1);
  if (at < 0 || !(kind in STAGES)) return null;
  switch (kind) {
    case 'expansions': {
      const cut = rest.lastIndexOf(':');
      const queries = rest.slice(cut + 1);
      return cut > 0 && (queries === 'test' || queries === 'train' || queries === 'dev') ? { kind, llm: rest.slice(0, cut), queries } : null;
    }
    case 'candidates':
      return { kind, llm: rest };
    case 'plainEval': {
      const cut = rest.lastIndexOf(':');
      const queries = rest.slice(cut + 1);
      return cut > 0 && (queries === 'test' || queries === 'dev') ? { kind, encoder: rest.slice(0, cut), queries } : null;
    }
    case 'eval':
    case 'devEval':
      return { kind, ...evalKeyOf(rest) };
    default:
      return { kind, name: rest };
  }
}

/** Which page step a stored stage belongs to ('train' for names this version does not know). */
export function stepOfStage(name: string): PageStep {
  const id = parseStageName(name);
  return id ? STAGES[id.kind].step : 'train';
}
