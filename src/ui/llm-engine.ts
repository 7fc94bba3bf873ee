// The run's generation engine lives in the run's config (llm.engine in ps.configText, the JSON the experiment
// form edits): the LLM panel reads it from there and writes it back, so the config stays the one source.
import type { LlmEngine } from '../pipeline/config.ts';

/** llm.engine of the config text; 'tfjs' when absent; null when the text is not a JSON object (the form shows that error). */
export function configuredEngine(configText: string): LlmEngine | null {
  try {
    const c = JSON.parse(configText || '{}') as { llm?: { engine?: LlmEngine } } | null;
    return c && typeof c === 'object' && !Array.isArray(c) ? (c.llm?.engine ?? 'tfjs') : null;
  } catch {
    return null;
  }
}

/** The config text with llm.engine set (every other key kept; 'tfjs', the default, is written out too: the choice is visible). */
export function withEngine(configText: string, engine: LlmEngine): string {
  const c = JSON.parse(configText || '{}') as Record<string, unknown>;
  const llm = c.llm && typeof c.llm === 'object' ? (c.llm as Record<string, unknown>) : {};
  return JSON.stringify({ ...c, llm: { ...llm, engine } }, null, 2);
}
