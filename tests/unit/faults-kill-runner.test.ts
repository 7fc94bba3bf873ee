// A runner killed with SIGKILL mid-training (issue 18, point 3): `expandr train-retriever` (a retriever
// training step) and `expandr train-llm` (a DPO step) are spawned, killed once a few checkpoints are on
// disk, and resumed with --resume. The checkpoint left behind must load (never half of one), and the
// resumed run must end exactly where an uninterrupted run ends: same loss curve, same model bytes.
// Also the folder swap itself (atomic-files.ts) at each point a kill can stop it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticTask } from './helpers/train-corpus.ts';
import { folderCheckpointSink, folderDpoCheckpointSink } from '../../src/cli/checkpoint-folders.ts';
import { OLD_SUFFIX, recoverFolder, replaceFolder, TMP_SUFFIX } from '../../src/cli/atomic-files.ts';
import { STATE_JSON } from '../../src/train/checkpoint.ts';
import { DPO_STATE_JSON } from '../../src/train/dpo-checkpoint.ts';

const ROOT = join(import.meta.dirname, '../..');
const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
const TINY_QWEN = join(ROOT, 'tests/reference/fixtures/tiny-qwen2');
const STEPS = 10;
const DPO_STEPS = 8;
/** Kill once a checkpoint of at least this step is on disk (the run then has STEPS − KILL_AFTER steps to go). */
const KILL_AFTER = 4;
const POLL_MS = 5;
/** Three runner processes per test (about 4 s of CPU each); wall time stretches on a shared machine. */
const SPAWN_TEST_TIMEOUT_MS = 300_000;
const tmp = mkdtempSync(join(tmpdir(), 'expandr-kill-runner-'));
const data = join(tmp, 'tiny');

beforeAll(() => {
  const { docs, queries, qrels } = syntheticTask(24);
  mkdirSync(join(data, 'qrels'), { recursive: true });
  writeFileSync(join(data, 'corpus.jsonl'), docs.map((d) => JSON.stringify({ _id: d.id, title: d.title, text: d.text })).join('\n'));
  writeFileSync(join(data, 'queries.jsonl'), queries.map((q) => JSON.stringify({ _id: q.id, text: q.text })).join('\n'));
  writeFileSync(join(data, 'qrels', 'train.tsv'), 'query-id\tcorpus-id\tscore\n' + [...qrels].map(([q, m]) => [...m].map(([d, s]) => `${q}\t${d}\t${s}`).join('\n')).join('\n'));
  const pairs = [
    { prompt: 'Question: what is vitamin D?', chosen: 'Vitamin D helps the body absorb calcium.', rejected: 'Once upon a time.' },
    { prompt: 'Question: what keeps bones strong?', chosen: 'Calcium keeps bones strong.', rejected: 'Hello, world!' },
    { prompt: 'Please write a passage.', chosen: 'Dense retrievers encode queries.', rejected: 'Lily loved to play outside.' },
  ];
  writeFileSync(join(tmp, 'pairs.jsonl'), pairs.map((r) => JSON.stringify(r)).join('\n') + '\n');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const args = (out: string, extra: string[] = []) => [
  '--import', 'tsx', join(ROOT, 'src/cli/entry.ts'), 'train-retriever',
  '--data', data, '--encoder', TINY_BERT, '--out', out, '--batch', '4', '--lr', '1e-3', '--backend', 'cpu',
  '--max-length', '8', '--steps', String(STEPS), '--checkpoint-every', '1', '--quiet', '--json', ...extra,
];

/** Runs the runner to its end; `killWhen` (polled) SIGKILLs it instead. Resolves with stdout, or null when killed. */
function runner(argv: string[], killWhen?: () => boolean): Promise<{ stdout: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const timer = killWhen && setInterval(() => killWhen() && child.kill('SIGKILL'), POLL_MS);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      if (signal === 'SIGKILL') resolve({ stdout, killed: true });
      else if (code === 0) resolve({ stdout, killed: false });
      else reject(new Error(`runner exited ${code}: ${stderr}`));
    });
  });
}

const dpoArgs = (out: string, extra: string[] = []) => [
  '--import', 'tsx', join(ROOT, 'src/cli/entry.ts'), 'train-llm',
  '--model', TINY_QWEN, '--pairs', join(tmp, 'pairs.jsonl'), '--out', out, '--batch', '2', '--accumulation', '1', '--lr', '1e-2',
  '--max-length', '56', '--max-prompt-length', '24', '--backend', 'wasm', '--steps', String(DPO_STEPS), '--checkpoint-every', '1', '--quiet', '--json', ...extra,
];

/** The step of the checkpoint on disk, or 0 (none yet, or between a save's two renames). */
function checkpointStep(dir: string, file = STATE_JSON): number {
  try {
    return JSON.parse(readFileSync(join(dir, file), 'utf8')).step as number;
  } catch {
    return 0;
  }
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

describe('a runner killed with SIGKILL', () => {
  it('resumes train-retriever from its last checkpoint and ends as an uninterrupted run does', async () => {
    const whole = join(tmp, 'whole');
    const killed = join(tmp, 'killed');
    const reference = lastJson((await runner(args(whole))).stdout);

    const first = await runner(args(killed), () => checkpointStep(join(killed, 'checkpoint')) >= KILL_AFTER);
    expect(first.killed, 'the run ended before the kill: raise STEPS').toBe(true);
    // What the kill left: a checkpoint that loads whole (possibly the one before, if the kill hit a save).
    const left = await folderCheckpointSink(join(killed, 'checkpoint')).latest();
    expect(left?.step).toBeGreaterThanOrEqual(KILL_AFTER - 1);
    expect(left!.step).toBeLessThan(STEPS);
    expect(existsSync(join(killed, 'model.safetensors'))).toBe(false);

    const resumed = lastJson((await runner(args(killed, ['--resume']))).stdout);
    expect(resumed.resumedFrom).toBe(left!.step);
    expect(resumed.lossCurve).toEqual(reference.lossCurve);
    expect(resumed.loss).toBe(reference.loss);
    expect(Buffer.compare(readFileSync(join(killed, 'model.safetensors')), readFileSync(join(whole, 'model.safetensors')))).toBe(0);
    console.log(`[kill-runner] killed after checkpoint ${left!.step} of ${STEPS}; resumed run equals the uninterrupted one`);
  }, SPAWN_TEST_TIMEOUT_MS);
});

describe('a runner killed with SIGKILL during DPO', () => {
  it('resumes train-llm from its last checkpoint and writes the adapter an uninterrupted run writes', async () => {
    const whole = join(tmp, 'dpo-whole');
    const killed = join(tmp, 'dpo-killed');
    const reference = lastJson((await runner(dpoArgs(whole))).stdout);

    const first = await runner(dpoArgs(killed), () => checkpointStep(join(killed, 'checkpoint'), DPO_STATE_JSON) >= KILL_AFTER - 1);
    expect(first.killed, 'the run ended before the kill: raise DPO_STEPS').toBe(true);
    const left = await folderDpoCheckpointSink(join(killed, 'checkpoint')).latest();
    expect(left?.step).toBeGreaterThanOrEqual(KILL_AFTER - 2);
    expect(left!.step).toBeLessThan(DPO_STEPS);
    expect(existsSync(join(killed, 'adapter_model.safetensors'))).toBe(false);

    const resumed = lastJson((await runner(dpoArgs(killed, ['--resume']))).stdout);
    expect(resumed.resumedFrom).toBe(left!.step);
    expect(resumed.curve).toEqual(reference.curve);
    expect(resumed.loss).toBe(reference.loss);
    expect(Buffer.compare(readFileSync(join(killed, 'adapter_model.safetensors')), readFileSync(join(whole, 'adapter_model.safetensors')))).toBe(0);
    console.log(`[kill-runner] DPO killed after checkpoint ${left!.step} of ${DPO_STEPS}; resumed run equals the uninterrupted one`);
  }, SPAWN_TEST_TIMEOUT_MS);
});

describe('replaceFolder / recoverFolder (a kill at each point of the swap)', () => {
  const files = (v: string) => new Map([['a.json', new TextEncoder().encode(v)], ['sub/b.bin', new Uint8Array([1, 2, 3])]]);
  const read = (dir: string) => readFileSync(join(dir, 'a.json'), 'utf8');
  const writeDir = (dir: string, m: Map<string, Uint8Array>) => {
    for (const [rel, bytes] of m) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), bytes);
    }
  };

  it('replaces a folder whole and leaves no side folders', () => {
    const target = join(tmp, 'swap', 'set');
    replaceFolder(target, files('one'));
    replaceFolder(target, files('two'));
    expect(read(target)).toBe('two');
    expect(readFileSync(join(target, 'sub/b.bin'))).toEqual(Buffer.from([1, 2, 3]));
    expect(existsSync(target + TMP_SUFFIX) || existsSync(target + OLD_SUFFIX)).toBe(false);
  });

  it('a kill while the new folder is written: the old one is untouched, the half one is replaced next time', () => {
    const target = join(tmp, 'swap2', 'set');
    replaceFolder(target, files('one'));
    mkdirSync(target + TMP_SUFFIX, { recursive: true });
    writeFileSync(join(target + TMP_SUFFIX, 'a.json'), 'tw'); // half written
    recoverFolder(target);
    expect(read(target)).toBe('one');
    replaceFolder(target, files('three'));
    expect(read(target)).toBe('three');
    expect(existsSync(target + TMP_SUFFIX)).toBe(false);
  });

  it('a kill between the two renames: the previous folder comes back', () => {
    const target = join(tmp, 'swap3', 'set');
    // The state after `target → target.old` and before `target.tmp → target`.
    writeDir(target + OLD_SUFFIX, files('one'));
    writeDir(target + TMP_SUFFIX, files('two'));
    recoverFolder(target);
    expect(read(target)).toBe('one');
    expect(existsSync(target + OLD_SUFFIX)).toBe(false);
    replaceFolder(target, files('four'));
    expect(read(target)).toBe('four');
    expect(existsSync(target + TMP_SUFFIX)).toBe(false);
  });
});
