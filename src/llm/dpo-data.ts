// DPO training data: preference pairs {prompt, chosen, rejected} from JSONL, tokenized and truncated as
// TRL 0.12's DPOTrainer does (tokenize_row + concatenated_forward), and collated into one batch of
// chosen rows then rejected rows (TRL's concatenated forward) for sequenceLogProbs.
//
// What is implemented, step by step (TRL 0.12.2, decoder-only):
//   prompt     the prompt through the chat template with the generation prompt (FACTS.md: the reference
//              code wraps prompts in it) and tokenized without adding special tokens (the template writes
//              BOS where the model wants one). Without a chat template (base models, llama2.c) the prompt is
//              tokenized as generation does (encodePrompt: BOS added) — TRL would add none, but a llama2.c
//              model is only ever run after BOS.
//   completion tokenized alone without special tokens, then the tokenizer's EOS appended (TRL appends
//              eos_token_id to chosen and rejected).
//   truncation the prompt keeps its LAST maxPromptLength tokens; a completion keeps its first
//              maxCompletionLength (off by default); then each row prompt + completion keeps its first
//              maxLength tokens (so a long completion loses its end, EOS included).
// Only completion tokens are scored. Rows are right-padded (TRL's flush-left layout).
import { FileFormatError } from '../errors.ts';
import { encodePrompt } from './generate.ts';
import type { ScoredBatch } from './logprobs.ts';
import type { DecoderTokenizer } from './tokenizer.ts';

export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
}

export interface TokenizedPair {
  prompt: number[];
  /** Completion ids, EOS included (before truncation to maxLength, which collation applies). */
  chosen: number[];
  rejected: number[];
}

import { DPO_LENGTH_DEFAULTS, type DpoLengths } from './dpo-settings.ts';

export { DPO_LENGTH_DEFAULTS, type DpoLengths };

/** Parses JSONL preference pairs; a bad line throws FileFormatError naming the file and the 1-based line. */
export function parsePreferencePairs(text: string, file = 'pairs.jsonl'): PreferencePair[] {
  const pairs: PreferencePair[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new FileFormatError(file, i + 1, `not valid JSON (${(e as Error).message})`, 'Write one {"prompt", "chosen", "rejected"} object per line');
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FileFormatError(file, i + 1, 'not a JSON object', 'Write one {"prompt", "chosen", "rejected"} object per line');
    const o = v as Record<string, unknown>;
    for (const k of ['prompt', 'chosen', 'rejected'] as const) {
      if (typeof o[k] !== 'string') throw new FileFormatError(file, i + 1, `"${k}" is ${o[k] === undefined ? 'missing' : 'not a string'}`, 'Every line needs string fields "prompt", "chosen" and "rejected"');
    }
    if (o.chosen === o.rejected) throw new FileFormatError(file, i + 1, '"chosen" and "rejected" are the same text', 'Drop the pair: it carries no preference');
    pairs.push({ prompt: o.prompt as string, chosen: o.chosen as string, rejected: o.rejected as string });
  });
  if (pairs.length === 0) throw new FileFormatError(file, null, 'no preference pairs', 'Write one {"prompt", "chosen", "rejected"} object per line');
  return pairs;
}

/** The EOS appended to completions: the tokenizer's own (tokenizer_config eos_token), else its first stop id. */
export function completionEos(tokenizer: DecoderTokenizer): number {
  const eos = tokenizer.eosId ?? tokenizer.eosIds[0];
  if (eos === undefined) throw new RangeError('The tokenizer has no EOS token to end completions with');
  return eos;
}

/** One pair → ids, TRL's tokenize_row (see the header). `chat` defaults to the tokenizer having a template. */
export function tokenizePair(tokenizer: DecoderTokenizer, pair: PreferencePair, lengths: DpoLengths = DPO_LENGTH_DEFAULTS, opts: { chat?: boolean; system?: string } = {}): TokenizedPair {
  const eos = completionEos(tokenizer);
  const prompt = encodePrompt(tokenizer, pair.prompt, opts).slice(-lengths.maxPromptLength);
  const completion = (text: string) => {
    const ids = [...tokenizer.encode(text, { addSpecialTokens: false }), eos];
    return lengths.maxCompletionLength === null ? ids : ids.slice(0, lengths.maxCompletionLength);
  };
  return { prompt, chosen: completion(pair.chosen), rejected: completion(pair.rejected) };
}

/**
 * Pairs → one right-padded batch of 2·n rows: chosen rows 0 … n−1, rejected rows n … 2n−1, each
 * (prompt + completion)[:maxLength], completion tokens scored.
 */
export function collatePairs(pairs: readonly TokenizedPair[], maxLength: number, padId = 0): ScoredBatch {
  const rows = [...pairs.map((p) => [p.prompt, p.chosen]), ...pairs.map((p) => [p.prompt, p.rejected])];
  const seqs = rows.map(([prompt, completion]) => {
    const ids = [...prompt, ...completion].slice(0, maxLength);
    const scored = ids.map((_, t) => (t >= prompt.length ? 1 : 0));
    if (prompt.length === 0 && scored.length) scored[0] = 0; // nothing predicts the first token
    return { ids, scored };
  });
  const T = Math.max(1, ...seqs.map((s) => s.ids.length));
  const pad = <X>(a: X[], fill: X) => [...a, ...new Array<X>(T - a.length).fill(fill)];
  return {
    ids: seqs.map((s) => pad(s.ids, padId)),
    attention: seqs.map((s) => pad(s.ids.map(() => 1), 0)),
    scored: seqs.map((s) => pad(s.scored, 0)),
  };
}
