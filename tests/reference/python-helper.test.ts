// The interop tests' Python switch (helpers/python.ts): skip with the reason on a developer machine, fail
// where the venv is expected (EXPANDR_REQUIRE_PYTHON=1, or CI as scripts/test.sh runs there).
import { afterEach, describe, expect, test, vi } from 'vitest';
import { findPython, missingPython, pythonRequired } from './helpers/python.ts';

const NO_MODULE = 'expandr_no_such_module';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('pythonRequired', () => {
  test('EXPANDR_REQUIRE_PYTHON wins; otherwise CI set and not false/0', () => {
    expect(pythonRequired({})).toBe(false);
    expect(pythonRequired({ CI: 'true' })).toBe(true);
    expect(pythonRequired({ CI: '1' })).toBe(true);
    expect(pythonRequired({ CI: 'false' })).toBe(false);
    expect(pythonRequired({ CI: '' })).toBe(false);
    expect(pythonRequired({ EXPANDR_REQUIRE_PYTHON: '1' })).toBe(true);
    expect(pythonRequired({ EXPANDR_REQUIRE_PYTHON: '0', CI: 'true' })).toBe(false);
  });
});

describe('a missing Python', () => {
  test('skips with the reason printed when not required', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(() => missingPython('the X check', 'no venv', {})).not.toThrow();
    expect(log).toHaveBeenCalledWith('skipping the X check: no venv');
  });

  test('fails, naming the check, the reason and the switch, when required', () => {
    expect(() => missingPython('the X check', 'no venv', { EXPANDR_REQUIRE_PYTHON: '1' })).toThrow(/^the X check cannot run: no venv\. EXPANDR_REQUIRE_PYTHON=1 or CI is set/);
  });

  test('findPython with no candidate that imports the module: null and the reason, or an error when required', () => {
    vi.stubEnv('EXPANDR_PYTHON', '/nonexistent/python');
    vi.stubEnv('EXPANDR_REQUIRE_PYTHON', '0');
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const r = findPython([NO_MODULE], 'the X check');
    expect(r.python).toBeNull();
    expect(r.reason).toMatch(/^no Python with expandr_no_such_module \(\/nonexistent\/python: does not exist; /);
    vi.stubEnv('EXPANDR_REQUIRE_PYTHON', '1');
    expect(() => findPython([NO_MODULE], 'the X check')).toThrow(/^the X check cannot run: no Python with expandr_no_such_module/);
  });
});
