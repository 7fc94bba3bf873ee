// The tokenizer contract of the decoder: what generation, log-probs and DPO need from either tokenizer
// (Hugging Face tokenizer.json via transformers.js, or llama2.c's tok512.bin).

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface DecoderTokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  /** Token ids that end a generation. */
  readonly eosIds: readonly number[];
  /**
   * The tokenizer's own EOS (tokenizer_config eos_token), which training appends to completions as TRL
   * does; may differ from eosIds[0] (Llama 3 Instruct: <|eot_id|> while config.json lists <|end_of_text|> first).
   */
  readonly eosId?: number;
  /** Fed at padded positions (masked out, so any valid id works). */
  readonly padId: number;
  /** True when `applyChatTemplate` can render conversations (instruct models). */
  readonly hasChatTemplate: boolean;
  /**
   * Prompt text → ids as the model expects them; `addSpecialTokens` (default true) adds what the model's
   * tokenizer adds (BOS for Llama and llama2.c; nothing for Qwen2).
   */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /**
   * Generated ids → text. `previous` is the id before the first one (llama2.c drops the leading space of a
   * piece that follows BOS); special tokens are skipped.
   */
  decode(ids: readonly number[], opts?: { previous?: number }): string;
  /** Renders messages through the model's chat template (throws when there is none). */
  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
}
