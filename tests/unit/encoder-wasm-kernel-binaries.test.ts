// The compiled kernels embedded in src/util/wasm-kernel-binaries.ts (attention and GELU, one module) are
// what scripts/build-wasm-kernels.sh builds from their C sources today.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WASM_KERNELS_CLANG } from '../../src/util/wasm-kernel-binaries.ts';

describe('the embedded kernel binaries', () => {
  it('are what scripts/build-wasm-kernels.sh builds from src/util/wasm-*-kernel.c', (ctx) => {
    let clang = '';
    try {
      execFileSync('wasm-ld', ['--version'], { stdio: 'ignore' });
      clang = execFileSync('clang', ['--version'], { encoding: 'utf8' }).split('\n')[0];
    } catch {
      ctx.skip('no clang or wasm-ld here: Debian `apt-get install -y clang lld` to run this check');
    }
    // Another clang may emit other (equally valid) bytes: compare only with the one that built them.
    if (clang !== WASM_KERNELS_CLANG) ctx.skip(`the embedded kernels were built by "${WASM_KERNELS_CLANG}", this is "${clang}"`);
    const out = join(mkdtempSync(join(tmpdir(), 'wasm-kernels-')), 'binaries.ts');
    execFileSync('bash', ['scripts/build-wasm-kernels.sh', out], { stdio: 'ignore' });
    expect(readFileSync(out, 'utf8')).toBe(readFileSync('src/util/wasm-kernel-binaries.ts', 'utf8'));
  });
});
