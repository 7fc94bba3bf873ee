// The setup most pipeline tests in the page share: a SciFact subset folder dropped as loose BEIR files,
// then the tiny encoder (tests/reference/fixtures/tiny-bert) and, unless told not to, the tiny LLM
// (stories260K, llama2.c) chosen through their folder pickers, each waited for in its table.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { dropFiles } from './harness.ts';

const ROOT = join(import.meta.dirname, '../..');
export const TINY_BERT = join(ROOT, 'tests/reference/fixtures/tiny-bert');
export const STORIES = join(ROOT, '../shared/models/stories260K');
const LOAD_TIMEOUT_MS = 60_000;

/** Drops `subset` (a writeScifactSubset folder) and loads tiny-bert and, with `llm`, stories260K. */
export async function loadSubsetAndTinyModels(page: Page, subset: string, opts: { llm?: boolean } = {}): Promise<void> {
  await dropFiles(page, '[data-testid="dropzone"]', [
    { name: 'corpus.jsonl', bytes: readFileSync(join(subset, 'corpus.jsonl')) },
    { name: 'queries.jsonl', bytes: readFileSync(join(subset, 'queries.jsonl')) },
    { name: 'test.tsv', bytes: readFileSync(join(subset, 'qrels/test.tsv')) },
    { name: 'train.tsv', bytes: readFileSync(join(subset, 'qrels/train.tsv')) },
  ]);
  await page.getByTestId('dataset-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
  await page.getByTestId('encoder-folder-input').setInputFiles(TINY_BERT);
  await page.getByTestId('encoder-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
  if (opts.llm === false) return;
  await page.getByTestId('llm-folder-input').setInputFiles(STORIES);
  await page.getByTestId('llm-row').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
}
