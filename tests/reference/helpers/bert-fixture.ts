// The tiny-BERT fixture written by tests/reference/gen/tiny_bert.py (PyTorch, float64), read from disk.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TorchFixture } from './bert-fixture-data.ts';

export * from './bert-fixture-data.ts';

export const FIXTURES = resolve(import.meta.dirname, '../fixtures');
export const TINY_BERT_DIR = resolve(FIXTURES, 'tiny-bert');

export function loadTorchFixture(): TorchFixture {
  return JSON.parse(readFileSync(resolve(FIXTURES, 'tiny-bert-torch.json'), 'utf8')) as TorchFixture;
}

