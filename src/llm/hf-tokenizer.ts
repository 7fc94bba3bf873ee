// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json, chat template included) through
// transformers.js, behind the DecoderTokenizer contract. transformers.js is imported lazily: it is large
// and only HF checkpoints need it.
import { ModelFormatError } from '../errors.ts';
import { readJson, type ModelFiles } from './files.ts';
import type { ChatMessage, DecoderTokenizer } from './tokenizer.ts';

/** The slice of transformers.js' PreTrainedTokenizer we use. */
interface HfTokenizerLike {
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], opts?: { skip_special_tokens?: boolean }): string;
  apply_chat_template(messages: ChatMessage[], opts: { tokenize: false; add_generation_prompt?: boolean }): string;
  chat_template: unknown;
  bos_token_id?: number;
  eos_token_id?: number;
  pad_token_id?: number;
  get_vocab(): Map<string, number>;
}

export class HfTokenizer implements DecoderTokenizer {
  readonly hasChatTemplate: boolean;
  readonly bosId: number | null;
  readonly padId: number;
  readonly vocabSize: number;
  readonly eosId?: number;

  private constructor(
    private readonly tok: HfTokenizerLike,
    readonly eosIds: readonly number[],
  ) {
    this.hasChatTemplate = tok.chat_template != null;
    this.bosId = tok.bos_token_id ?? null;
    this.padId = tok.pad_token_id ?? eosIds[0] ?? 0;
    this.vocabSize = tok.get_vocab().size;
    if (tok.eos_token_id !== undefined && tok.eos_token_id !== null) this.eosId = tok.eos_token_id;
  }

  /**
   * Loads tokenizer.json and tokenizer_config.json (and chat_template.jinja when the template lives
   * there). `extraEos` adds stop ids from config.json / generation_config.json (Llama 3 lists several).
   */
  static async load(files: ModelFiles, extraEos: readonly number[] = []): Promise<HfTokenizer> {
    if (!files.has('tokenizer.json')) {
      throw new ModelFormatError(files.label, 'no tokenizer.json', 'Add the tokenizer files of the model (tokenizer.json, tokenizer_config.json) to the folder');
    }
    const json = await readJson(files, 'tokenizer.json');
    const config = (files.has('tokenizer_config.json') ? await readJson(files, 'tokenizer_config.json') : {}) as Record<string, unknown>;
    if (config.chat_template == null && files.has('chat_template.jinja')) {
      config.chat_template = new TextDecoder().decode(await files.read('chat_template.jinja'));
    }
    const transformers = (await import('@huggingface/transformers')) as unknown as Record<string, unknown>;
    // As AutoTokenizer does: the class named by tokenizer_class (without "Fast"), else the base class.
    const className = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : 'PreTrainedTokenizer';
    const Cls = (transformers[className] ?? transformers.PreTrainedTokenizer) as new (json: unknown, config: unknown) => HfTokenizerLike;
    let tok: HfTokenizerLike;
    try {
      tok = new Cls(json, config);
    } catch (e) {
      throw new ModelFormatError(`${files.label}/tokenizer.json`, `transformers.js cannot build the tokenizer (${(e as Error).message})`, 'Re-download the tokenizer files');
    }
    const eos = new Set<number>(extraEos);
    if (tok.eos_token_id !== undefined && tok.eos_token_id !== null) eos.add(tok.eos_token_id);
    return new HfTokenizer(tok, [...eos]);
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true });
  }

  decode(ids: readonly number[]): string {
    if (ids.length === 0) return ''; // transformers.js throws on an empty list (a generation that stopped at once)
    return this.tok.decode([...ids], { skip_special_tokens: true });
  }

  applyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.hasChatTemplate) {
      throw new ModelFormatError('tokenizer_config.json', 'the tokenizer has no chat template', 'Use an instruct model, or send the prompt as plain text');
    }
    return this.tok.apply_chat_template(messages, { tokenize: false, add_generation_prompt: opts.addGenerationPrompt ?? true });
  }
}
