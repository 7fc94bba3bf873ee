// The Python the interop tests run (exports loaded in the canonical Python implementations). Candidates, in
// order: $EXPANDR_PYTHON, .cache/venv-interop (scripts/ensure-python.sh makes it: Debian torch 1.13 +
// transformers, sentence-transformers, peft, safetensors, pytrec_eval), .cache/venv-llm (the older LLM venv,
// tests/reference/requirements-llm.txt), .cache/venv (tests/reference/requirements.txt). The first one that
// imports every module a test needs wins; with none, the test skips and says what is missing and how to
// install it, except where the venv is expected (pythonRequired(): EXPANDR_REQUIRE_PYTHON=1 or CI set, as
// scripts/test.sh has made it): there a missing Python fails, so an interop check never passes unrun.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../..', import.meta.url).pathname;
const INSTALL_HINT = 'install it with `bash scripts/ensure-python.sh` (makes .cache/venv-interop), or point EXPANDR_PYTHON at a Python that has it';

/** True when a missing Python must fail rather than skip: EXPANDR_REQUIRE_PYTHON=1, or CI set (not "false"/"0"). */
export function pythonRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.EXPANDR_REQUIRE_PYTHON !== undefined && env.EXPANDR_REQUIRE_PYTHON !== '') return env.EXPANDR_REQUIRE_PYTHON !== '0';
  return env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
}

/** Prints why `purpose` is skipped; throws instead when pythonRequired() (the caller's tests then fail). */
export function missingPython(purpose: string, reason: string, env: NodeJS.ProcessEnv = process.env): void {
  if (pythonRequired(env)) {
    throw new Error(`${purpose} cannot run: ${reason}. EXPANDR_REQUIRE_PYTHON=1 or CI is set, so this fails instead of skipping (unset both to skip).`);
  }
  console.log(`skipping ${purpose}: ${reason}`);
}

export function pythonCandidates(): string[] {
  const env = process.env.EXPANDR_PYTHON;
  const venvs = ['.cache/venv-interop', '.cache/venv-llm', '.cache/venv'].map((v) => join(ROOT, v, 'bin/python'));
  return [...(env ? [env] : []), ...venvs];
}

export interface PythonChoice {
  /** The interpreter to run, or null when none can import the modules. */
  python: string | null;
  /** Why none was usable (null when one was found). */
  reason: string | null;
}

/**
 * The first candidate that imports all of `modules` (Python import names, e.g. 'torch', 'pytrec_eval').
 * `purpose` names the check in the skip message, which is printed to the console (or in the error thrown
 * when pythonRequired()).
 */
export function findPython(modules: readonly string[], purpose: string): PythonChoice {
  const tried: string[] = [];
  for (const python of pythonCandidates()) {
    if (!existsSync(python)) {
      tried.push(`${python}: does not exist`);
      continue;
    }
    const probe = modules.map((m) => `\ntry:\n import ${m}\nexcept Exception as e:\n missing.append('${m}')`).join('');
    const r = spawnSync(python, ['-c', `missing = []${probe}\nprint(','.join(missing))`], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) {
      tried.push(`${python}: cannot run (${(r.stderr || String(r.error)).trim().split('\n').pop()})`);
      continue;
    }
    const missing = r.stdout.trim();
    if (!missing) return { python, reason: null };
    tried.push(`${python}: no ${missing.split(',').join(', ')}`);
  }
  const reason = `no Python with ${modules.join(', ')} (${tried.join('; ')}); ${INSTALL_HINT}`;
  missingPython(purpose, reason);
  return { python: null, reason };
}

/** Runs `python script args…` and parses the last stdout line as JSON; throws with stderr when it is not JSON. */
export function runPythonJson<T>(python: string, script: string, args: readonly string[], timeoutMs: number): { status: number; out: T } {
  const r = spawnSync(python, [script, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (!last.startsWith('{')) {
    throw new Error(`${script} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}): ${(r.stderr ?? '').slice(-3000)}`);
  }
  return { status: r.status ?? -1, out: JSON.parse(last) as T };
}
