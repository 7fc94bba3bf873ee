// The LLM side of the app, as the core worker runs it: a decoder the user dropped (a Hugging Face folder,
// a .gguf, or a llama2.c pair such as stories260K's model.bin + tok512.bin) read and checked here, kept in
// this browser (llm-store.ts) and run by the tfjs decoder (generation, LoRA, DPO), or a WebLLM preset (generation on WebGPU; its VRAM need shown
// before loading). Plain core code: no DOM, no Worker.
import { ExpandrError, NotFoundError } from '../errors.ts';
import { fromFile } from '../data/source.ts';
import { modelFilesFromSources, type ModelFiles } from '../llm/files.ts';
import { detectFormat, loadDecoderFiles, type LoadedDecoder } from '../llm/load.ts';
import type { DecoderTokenizer } from '../llm/tokenizer.ts';
import type { DecoderConfig } from '../llm/config.ts';
import { loadTfjsGenerator } from '../pipeline/generators.ts';
import { q2aPrompt, q2dPrompt, stripIntro, Q2A_DOC_MAX_CHARS } from '../pipeline/prompts.ts';
import { webLlmPreset } from '../llm/webllm/presets.ts';
import type { WorkOptions } from '../util/progress.ts';
import type { LlmSource, LlmSummary } from './session-types.ts';
import type { Store } from '../store/store.ts';
import { lastLoadedModel, rememberLoadedModel, storeModelCache } from '../model/sources-cache.ts';
import { keepLlmFiles, storedLlmFiles } from './llm-store.ts';

export { keepLlmFiles, MODEL_KIND_FILE, MODEL_NAME_FILE } from './llm-store.ts';
const ROLE = 'llm';


/** A passage for measuring characters per token (SciFact-like prose). */
const SAMPLE_PASSAGE =
  'Alterations of the architecture of cerebral white matter in the developing human brain can affect cortical development and result in functional disabilities. A line scan diffusion-weighted magnetic resonance imaging sequence was used to assess water diffusion in the brain.';

/** What tryQ2d generated: the Q2D prompt (before the chat template), the text, the text without an intro phrase (what the pipeline keeps), and times. */
export interface LlmTry {
  prompt: string;
  text: string;
  expansion: string;
  loadMs: number;
  generateMs: number;
}

export interface LoadedLlm {
  summary: LlmSummary;
  /** The decoder's files (tfjs engine), for the loop to build models from. */
  files?: ModelFiles;
  /** The WebLLM preset id (webllm engine). */
  preset?: string;
}

export class LlmSession {
  #loaded = new Map<string, LoadedLlm>();
  #next = 1;

  /** With a store, dropped decoders are kept in it ('local:<hash>') and the last one loaded comes back with restore(). */
  constructor(private readonly store?: () => Promise<Store>) {}

  async load(source: LlmSource, work: WorkOptions = {}): Promise<LlmSummary> {
    if (source.kind === 'webllm') {
      const p = webLlmPreset(source.preset);
      const cacheKey = `webllm:${p.id}`;
      const same = this.#find(cacheKey);
      if (same) return same;
      const summary = this.#add({
        summary: { handle: '', name: p.id, engine: 'webllm', arch: p.arch, layers: p.dims.layers, dim: p.dims.dim, vocab: p.dims.vocab, vramMB: p.vramMB, chat: true, maxSeqLen: p.contextWindow, cacheKey },
        preset: p.id,
      });
      await this.#remember({ source: cacheKey, revision: '', preset: p.id });
      return summary;
    }
    let files: ModelFiles;
    let cacheKey: string | undefined;
    if (source.kind === 'cached') {
      const same = this.#find(source.source);
      if (same) return same;
      if (!this.store) throw new NotFoundError(`The LLM ${source.source} is not kept here: drop its folder again.`);
      const store = await this.store();
      work.onProgress?.({ stage: 'llm:restore', done: 0, total: 1, unit: 'models', text: 'reading the stored LLM' });
      const stored = await storedLlmFiles(store, source.source, source.revision);
      if (!stored) throw new NotFoundError(`The LLM ${source.source} is no longer in this browser's storage: drop its folder again.`);
      files = stored;
      cacheKey = source.source;
    } else {
      files = modelFilesFromSources(source.files.map((f) => fromFile(f.file, f.path)));
    }
    const format = detectFormat(files);
    // Read and check everything now (shapes, tokenizer), so a broken folder fails here and not mid-run.
    work.onProgress?.({ stage: 'llm:load', done: 0, total: 1, unit: 'models', text: files.label });
    const d = await loadDecoderFiles(files, work);
    let params = 0;
    for (const w of d.weights.values()) params += w.shape.reduce((a, b) => a * b, 1);
    work.onProgress?.({ stage: 'llm:load', done: 1, total: 1, unit: 'models', text: files.label });
    const measure = q2aMeasures(d.tokenizer);
    // A checked folder is kept in the store (the same cache as encoders: 'local:<hash>'), so a new page loads it again.
    if (!cacheKey && this.store) cacheKey = await keepLlmFiles(await this.store(), files, work);
    if (cacheKey) {
      const same = this.#find(cacheKey);
      if (same) return same;
    }
    const summary = this.#add({
      summary: { handle: '', name: files.label, engine: 'tfjs', format, ...dims(d.config), params, chat: hasChatTemplate(d.tokenizer), maxSeqLen: d.config.maxSeqLen, cacheKey, ...measure },
      files,
    });
    if (cacheKey) await this.#remember({ source: cacheKey, revision: '' });
    return summary;
  }

  /** The LLM loaded last (on this or an earlier page), loaded again from the store; null when there is none (any more). */
  async restore(work: WorkOptions = {}): Promise<LlmSummary | null> {
    if (!this.store) return null;
    const ref = await lastLoadedModel(storeModelCache(await this.store()), ROLE);
    if (!ref) return null;
    try {
      return await this.load(ref.preset ? { kind: 'webllm', preset: ref.preset } : { kind: 'cached', source: ref.source, revision: ref.revision }, work);
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }

  /**
   * A greedy Q2D expansion of one query on a loaded tfjs decoder (the page's "Try the Q2D prompt"): the quick
   * check that a dropped model follows the prompt. Loads the decoder for this call only and frees it after.
   */
  async tryQ2d(handle: string, query: string, maxTokens: number, work: WorkOptions = {}): Promise<LlmTry> {
    const l = this.get(handle);
    if (!l.files) throw new ExpandrError(`${l.summary.name} runs on WebLLM, which generates only in the pipeline's Expand step: drop the model's folder or .gguf to try it here.`);
    const t0 = performance.now();
    const generator = await loadTfjsGenerator(l.files, { chat: l.summary.chat, name: l.summary.name }, work);
    try {
      const prompt = q2dPrompt(query);
      const t1 = performance.now();
      const [text] = await generator.generate([prompt], { temperature: 0, topP: 1, maxTokens, seed: 0 }, work);
      if (typeof text !== 'string') throw new ExpandrError(`${l.summary.name} cannot run this prompt: ${text.failed}. Use a shorter query.`);
      return { prompt, text, expansion: stripIntro(text), loadMs: t1 - t0, generateMs: performance.now() - t1 };
    } finally {
      generator.dispose();
    }
  }

  list(): LlmSummary[] {
    return [...this.#loaded.values()].map((l) => l.summary);
  }

  #find(cacheKey: string): LlmSummary | undefined {
    return this.list().find((s) => s.cacheKey === cacheKey);
  }

  async #remember(ref: { source: string; revision: string; preset?: string }) {
    if (this.store) await rememberLoadedModel(storeModelCache(await this.store()), ROLE, ref);
  }

  get(handle: string): LoadedLlm {
    const l = this.#loaded.get(handle);
    if (!l) throw new NotFoundError(`LLM ${handle} is not loaded (the page was reloaded?). Drop its folder or pick the preset again.`);
    return l;
  }

  #add(l: LoadedLlm): LlmSummary {
    const handle = `llm-${this.#next++}`;
    l.summary.handle = handle;
    this.#loaded.set(handle, l);
    return l.summary;
  }
}

/**
 * Characters of d* that fit the Q2A prompt: the context minus the template, the query (budgeted at
 * QUERY_TOKENS), the answer's tokens and the chat template's (CHAT_TOKENS), at the measured
 * characters per token with a margin; at most Q2A_DOC_MAX_CHARS (the paper's cut).
 */
export function q2aDocChars(llm: Pick<LlmSummary, 'chat' | 'maxSeqLen' | 'q2aTokens' | 'charsPerToken'>, answerTokens: number): number {
  const QUERY_TOKENS = 64;
  const CHAT_TOKENS = llm.chat ? 64 : 0;
  const MARGIN = 0.8;
  if (!llm.q2aTokens || !llm.charsPerToken) return Q2A_DOC_MAX_CHARS;
  const tokens = llm.maxSeqLen - answerTokens - llm.q2aTokens - QUERY_TOKENS - CHAT_TOKENS;
  return Math.max(0, Math.min(Q2A_DOC_MAX_CHARS, Math.floor(tokens * llm.charsPerToken * MARGIN)));
}

/** What q2aDocChars reads of a tokenizer: the Q2A template's tokens and characters per token of a sample passage. */
function q2aMeasures(tokenizer: DecoderTokenizer | null): Pick<LlmSummary, 'q2aTokens' | 'charsPerToken'> {
  return tokenizer ? { q2aTokens: tokenizer.encode(q2aPrompt('', '')).length, charsPerToken: SAMPLE_PASSAGE.length / tokenizer.encode(SAMPLE_PASSAGE).length } : {};
}

/** q2aDocChars of a loaded decoder, measured as a page load measures it: the runner calls it so one config gives the page's Q2A prompts. */
export function decoderQ2aDocChars(d: Pick<LoadedDecoder, 'config' | 'tokenizer'>, answerTokens: number): number {
  return q2aDocChars({ chat: hasChatTemplate(d.tokenizer), maxSeqLen: d.config.maxSeqLen, ...q2aMeasures(d.tokenizer) }, answerTokens);
}

const dims = (c: DecoderConfig) => ({ arch: c.arch, layers: c.layers, dim: c.dim, vocab: c.vocab });

function hasChatTemplate(t: unknown): boolean {
  const x = t as { chatTemplate?: unknown; hasChatTemplate?: boolean } | null;
  return !!x && (x.hasChatTemplate ?? !!x.chatTemplate);
}
