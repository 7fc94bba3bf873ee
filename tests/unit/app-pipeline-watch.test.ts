// Watching the page's pipeline in Node: the page's own state (PipelineState) over the worker's code
// (PipelineSession) through a client that calls the session directly, as the worker would. Each
// retriever and DPO step's figures and each query's rewards reach the page's live curves while the run
// goes on; progress events carry what the rate is measured in (tokens while generating); a cancel during
// DPO keeps the finished stages, and "Run all" after it resumes: the finished stages are reused (their
// log entries unchanged) and DPO continues from its checkpoint. The stage log survives a reload.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/cli/backend.ts';
import { openStore } from '../../src/store/store.ts';
import { importBeir } from '../../src/store/import-beir.ts';
import { fromBytes } from '../../src/data/source.ts';
import { RetrieverSession } from '../../src/app/retriever-session.ts';
import { LlmSession } from '../../src/app/llm-session.ts';
import { PipelineSession } from '../../src/app/pipeline-session.ts';
import { appLlmSide } from '../../src/app/app-llm-side.ts';
import type { Calls, CallType } from '../../src/app/protocol.ts';
import type { PipelineEvent } from '../../src/app/session-types.ts';
import { CancelledError } from '../../src/errors.ts';
import type { Progress } from '../../src/util/progress.ts';
import type { CallHandle, CoreClient } from '../../src/ui/core-client.ts';
import { PipelineState } from '../../src/ui/pipeline-state.svelte.ts';
import { writeScifactSubset } from '../browser/scifact-subset.ts';
import { folderFiles } from './helpers/folder-files.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCIFACT = join(ROOT, '../shared/data/beir/scifact');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const STORIES = join(ROOT, '../shared/models/stories260K');
const LONG_TEST_MS = 600_000;
const DPO_STEPS = 3;

/** The rows that exercise every kind of stage (expansions, retriever, candidates, preferences, DPO, evaluation). */
const CONFIG = {
  settings: ['BM25', 'Raw', 'ExpandR'],
  trainQueries: 4,
  testQueries: 4,
  expansion: { maxTokens: 8 },
  answer: { maxTokens: 8 },
  candidates: { temperatures: [0.8, 1.1], perTemperature: 1, maxTokens: 8 },
  rewards: { filter: 0 },
  retriever: { steps: 3, batchSize: 4, hardNegatives: false },
  // A checkpoint after every step, so the cancel below leaves one to resume from.
  dpo: { steps: DPO_STEPS, batchSize: 2, checkpointEvery: 1 },
};

/** The progress stages the run above goes through (until the cancel in DPO) and the unit of each. */
const STAGE_UNITS: Record<string, string> = {
  'pipeline:data': 'docs',
  'bm25:search': 'queries',
  'dense:encode': 'docs',
  'dense:queries': 'queries',
  'dense:search': 'docs',
  'pipeline:expand': 'prompts',
  'train:retriever': 'steps',
  'pipeline:candidates': 'prompts',
  'pipeline:answers': 'prompts',
  'pipeline:rewards': 'queries',
  'train:llm': 'steps',
};

/** The worker's side without a worker: each call goes to the sessions, with the same callbacks host.ts passes. */
function directClient(session: PipelineSession, tap?: (p: Progress) => void): CoreClient {
  const call = <T extends CallType>(type: T, args: Calls[T]['args'], onProgress?: (p: Progress) => void, _onStep?: unknown, onEvent?: (e: PipelineEvent) => void): CallHandle<Calls[T]['result']> => {
    const ac = new AbortController();
    const run = async (): Promise<unknown> => {
      const progress = (p: Progress) => {
        tap?.(p);
        onProgress?.(p);
      };
      if (type === 'pipeline:run') return session.run(args as Calls['pipeline:run']['args'], { signal: ac.signal, onProgress: progress, onEvent });
      if (type === 'pipeline:state') return session.state((args as Calls['pipeline:state']['args']).datasetId);
      throw new Error(`directClient: ${type} is not used by this test`);
    };
    return { promise: run() as Promise<Calls[T]['result']>, cancel: () => ac.abort(new CancelledError()) };
  };
  return { call } as unknown as CoreClient;
}

let subset: string;
beforeAll(async () => {
  await useBackend('wasm');
  subset = mkdtempSync(join(tmpdir(), 'expandr-pipeline-watch-'));
  writeScifactSubset(SCIFACT, subset, { queries: 6, docs: 40 });
});
afterAll(() => rmSync(subset, { recursive: true, force: true }));

describe('watching the pipeline from the page state', () => {
  it(
    'streams training curves and rewards to the page while the run goes on; a cancel during DPO resumes on Run all',
    async () => {
      const store = await openStore({ dbName: 'pipeline-watch-test', idbFactory: new IDBFactory() });
      const file = (p: string) => fromBytes(`scifact-mini/${p}`, readFileSync(join(subset, p)));
      const { dataset } = await importBeir(store, ['corpus.jsonl', 'queries.jsonl', 'qrels/test.tsv', 'qrels/train.tsv'].map(file), {
        estimate: async () => ({ quota: 1e9, usage: 0 }),
      });
      const retrievers = new RetrieverSession(async () => store);
      const llms = new LlmSession();
      const session = new PipelineSession(async () => store, retrievers, llms, (llm, config, at) => appLlmSide(llm, config, at));
      const enc = await retrievers.load({ kind: 'files', files: folderFiles(TINY_BERT, 'tiny-bert') });
      const llm = await llms.load({ kind: 'files', files: folderFiles(STORIES, 'stories260K') });

      const progress: Progress[] = [];
      const ps = new PipelineState(directClient(session, (p) => progress.push(p)));
      Object.assign(ps, { datasetId: dataset.id, encoder: enc.handle, llm: llm.handle, configText: JSON.stringify(CONFIG) });

      // Watch what the page holds while the run goes on: the curves when each point arrives, the progress
      // events; cancel once DPO has done two steps (its checkpoint of step 2 is stored right after).
      const seenWhileRunning: { series: string; points: number; running: boolean }[] = [];
      const onEvent = ps.onEvent.bind(ps);
      ps.onEvent = (e: PipelineEvent) => {
        onEvent(e);
        if (e.kind !== 'metric') return;
        const c = ps.liveCurves.find((x) => x.series === e.point.series)!;
        seenWhileRunning.push({ series: e.point.series, points: c.steps.length, running: ps.task !== null });
        if (e.point.series === 'dpo:round-1' && e.point.step === 2 && cancelOnce) {
          cancelOnce = false;
          runningAtCancel = ps.liveStage?.stage;
          ps.task!.cancel();
        }
      };
      let cancelOnce = true;
      let runningAtCancel: string | undefined;
      await ps.run('all');

      expect(ps.error).toMatch(/^Cancelled/);
      // The page knew which stage was running (the log's last row while it runs).
      expect(runningAtCancel).toBe('dpo:round-1');
      const retr = ps.liveCurves.find((c) => c.series === 'retriever:round-1')!;
      expect(retr.steps).toEqual([1, 2, 3]);
      expect(retr.values.loss.every(Number.isFinite)).toBe(true);
      expect(Object.keys(retr.values)).toEqual(['loss']);
      const rewards = ps.liveCurves.find((c) => c.series === 'rewards:round-1')!;
      expect(rewards.steps.length).toBeGreaterThan(0);
      expect(Object.keys(rewards.values).sort()).toEqual(['chosen', 'margin', 'rejected']);
      const dpo = ps.liveCurves.find((c) => c.series === 'dpo:round-1')!;
      expect(dpo.steps).toEqual([1, 2]);
      expect(Object.keys(dpo.values).sort()).toEqual(['accuracy', 'chosenReward', 'loss', 'margin', 'rejectedReward']);
      // Every point reached the page state while the task was still running, one at a time.
      expect(seenWhileRunning.every((s) => s.running)).toBe(true);
      expect(seenWhileRunning.filter((s) => s.series === 'retriever:round-1').map((s) => s.points)).toEqual([1, 2, 3]);
      // Generation reports the tokens it made (the page's tokens/s); training its steps and loss.
      const gen = progress.filter((p) => p.stage === 'pipeline:expand' || p.stage === 'pipeline:candidates');
      expect(gen.some((p) => p.counter?.unit === 'tokens' && p.counter.done > 0)).toBe(true);
      expect(progress.some((p) => p.stage === 'train:llm' && p.unit === 'steps' && /loss/.test(p.text ?? ''))).toBe(true);
      // Every kind of stage reports its progress in its own units, so the page has a rate for each.
      const units = new Map(progress.map((p) => [p.stage, p.unit]));
      for (const [stage, unit] of Object.entries(STAGE_UNITS)) expect(units.get(stage), stage).toBe(unit);

      // The cancel kept every finished stage, with its log entry, in the stored run.
      const stored = ps.snapshot!;
      expect(stored.finished).toContain('preferences:round-1');
      expect(stored.finished).not.toContain('dpo:round-1');
      expect(stored.stageLog.map((e) => e.stage)).toEqual(stored.finished);
      for (const e of stored.stageLog) {
        expect(Date.parse(e.finishedAt) - Date.parse(e.startedAt)).toBe(e.ms);
        expect(e.figure).toBeTruthy();
      }

      // Run all again: it resumes. The stages finished before the cancel are reused (same log entries),
      // and DPO continues at step 3 from its checkpoint of step 2.
      const resumedAt = new Date().toISOString();
      await ps.run('all');
      expect(ps.error).toBeNull();
      expect(ps.snapshot?.complete).toBe(true);
      expect(ps.liveCurves.find((c) => c.series === 'retriever:round-1')).toBeUndefined();
      expect(ps.liveCurves.find((c) => c.series === 'dpo:round-1')!.steps).toEqual([DPO_STEPS]);
      const log = ps.snapshot!.stageLog;
      for (const before of stored.stageLog) expect(log.find((e) => e.stage === before.stage)).toEqual(before);
      expect(log.map((e) => e.stage)).toEqual(expect.arrayContaining(['dpo:round-1', 'eval:ExpandR']));
      const dpoEntry = log.find((e) => e.stage === 'dpo:round-1')!;
      expect(dpoEntry.figure).toMatch(/^final loss \d\.\d{4} \(3 steps, \d+ pairs\)$/);
      // Its time counts both runs of it: from its start before the cancel, with the pause left out.
      expect(dpoEntry.resumed).toBe(true);
      expect(dpoEntry.startedAt < resumedAt).toBe(true);
      expect(dpoEntry.ms).toBeLessThanOrEqual(Date.parse(dpoEntry.finishedAt) - Date.parse(dpoEntry.startedAt));
      expect(log.filter((e) => e.resumed).map((e) => e.stage)).toEqual(['dpo:round-1']);

      // A reload: a new page state over the same stored run shows the same log.
      const reloaded = new PipelineState(directClient(new PipelineSession(async () => store, new RetrieverSession(async () => store), new LlmSession(), (l, c, at) => appLlmSide(l, c, at))));
      await reloaded.restore(dataset.id);
      expect(reloaded.snapshot!.stageLog).toEqual(log);
    },
    LONG_TEST_MS,
  );
});
