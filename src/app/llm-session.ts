// The LLM side of the app, as the core worker runs it: a decoder the user dropped (a Hugging Face folder
// or a llama2.c pair such as stories260K's model.bin + tok512.bin) read and checked here and run by the
// tfjs decoder (generation, LoRA, DPO), or a WebLLM preset (generation on WebGPU; its VRAM need shown
// before loading). Plain core code: no DOM, no Worker.
import { NotFoundError } from '../errors.ts';
import { fromFile } from '../data/source.ts';
import { modelFilesFromSources, type ModelFiles } from '../llm/files.ts';
import { detectFormat, loadDecoderFiles, type DecoderFormat } from '../llm/load.ts';
import type { DecoderConfig } from '../llm/config.ts';
import { q2aPrompt, Q2A_DOC_MAX_CHARS } from '../pipeline/prompts.ts';
import { webLlmPreset } from '../llm/webllm/presets.ts';
import type { LongWork } from '../util/progress.ts';
import type { DroppedFile } from './protocol.ts';

export type LlmSource = { kind: 'files'; files: DroppedFile[] } | { kind: 'webllm'; preset: string };

export interface LlmSummary {
  handle: string;
  name: string;
  engine: 'tfjs' | 'webllm';
  format?: DecoderFormat;
  arch: string;
  layers: number;
  dim: number;
  vocab: number;
  /** Parameters (tfjs decoders: counted from the weights). */
  params?: number;
  /** WebLLM presets: prebuiltAppConfig's vram_required_MB. */
  vramMB?: number;
  /** Whether the tokenizer has a chat template (llama2.c models have none: prompts go in raw). */
  chat: boolean;
  /** Longest sequence (prompt + output) in tokens. */
  maxSeqLen: number;
  /** Tokens of the Q2A prompt around an empty query and document, and characters per token of a sample passage. */
  q2aTokens?: number;
  charsPerToken?: number;
}

/** A passage for measuring characters per token (SciFact-like prose). */
const SAMPLE_PASSAGE =
  'Alterations of the architecture of cerebral white matter in the developing human brain can affect cortical development and result in functional disabilities. A line scan diffusion-weighted magnetic resonance imaging sequence was used to assess water diffusion in the brain.';

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

  async load(source: LlmSource, work: LongWork = {}): Promise<LlmSummary> {
    if (source.kind === 'webllm') {
      const p = webLlmPreset(source.preset);
      return this.#add({
        summary: { handle: '', name: p.id, engine: 'webllm', arch: p.arch, layers: p.dims.layers, dim: p.dims.dim, vocab: p.dims.vocab, vramMB: p.vramMB, chat: true, maxSeqLen: p.contextWindow },
        preset: p.id,
      });
    }
    const files = modelFilesFromSources(source.files.map((f) => fromFile(f.file, f.path)));
    const format = detectFormat(files);
    // Read and check everything now (shapes, tokenizer), so a broken folder fails here and not mid-run.
    work.onProgress?.({ stage: 'llm:load', done: 0, total: 1, unit: 'models', text: files.label });
    const d = await loadDecoderFiles(files, work);
    let params = 0;
    for (const w of d.weights.values()) params += w.shape.reduce((a, b) => a * b, 1);
    work.onProgress?.({ stage: 'llm:load', done: 1, total: 1, unit: 'models', text: files.label });
    const measure = d.tokenizer
      ? { q2aTokens: d.tokenizer.encode(q2aPrompt('', '')).length, charsPerToken: SAMPLE_PASSAGE.length / d.tokenizer.encode(SAMPLE_PASSAGE).length }
      : {};
    return this.#add({
      summary: { handle: '', name: files.label, engine: 'tfjs', format, ...dims(d.config), params, chat: hasChatTemplate(d.tokenizer), maxSeqLen: d.config.maxSeqLen, ...measure },
      files,
    });
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
export function q2aDocChars(s: LlmSummary, answerTokens: number): number {
  const QUERY_TOKENS = 64;
  const CHAT_TOKENS = s.chat ? 64 : 0;
  const MARGIN = 0.8;
  if (!s.q2aTokens || !s.charsPerToken) return Q2A_DOC_MAX_CHARS;
  const tokens = s.maxSeqLen - answerTokens - s.q2aTokens - QUERY_TOKENS - CHAT_TOKENS;
  return Math.max(0, Math.min(Q2A_DOC_MAX_CHARS, Math.floor(tokens * s.charsPerToken * MARGIN)));
}

const dims = (c: DecoderConfig) => ({ arch: c.arch, layers: c.layers, dim: c.dim, vocab: c.vocab });

function hasChatTemplate(t: unknown): boolean {
  const x = t as { chatTemplate?: unknown; hasChatTemplate?: boolean } | null;
  return !!x && (x.hasChatTemplate ?? !!x.chatTemplate);
}
