// Node only: what the llama.cpp generator needs of a .gguf besides llama.cpp itself, read from its header
// alone (no weights): our tokenizer (the same one the tfjs decoder builds from the GGUF, so prompts are
// encodePrompt's tokens and outputs decode alike) and the weights' precision (the dominant tensor type by
// elements, as weight-precision.ts reports it for the tfjs path).
import { HfTokenizer } from '../hf-tokenizer.ts';
import { modelFilesFromBytes } from '../files.ts';
import { ggmlTypeName } from '../gguf/ggml-types.ts';
import { ggufSourceFromFile } from '../gguf/node-source.ts';
import { readGgufHeader } from '../gguf/reader.ts';
import { ggufTokenizerFiles } from '../gguf/tokenizer-json.ts';

export interface GgufFileInfo {
  tokenizer: HfTokenizer;
  /** Dominant tensor type by elements, e.g. 'Q4_1'. */
  precision: string;
  /** general.architecture, e.g. 'llama'. */
  arch: string;
}

export async function readGgufFileInfo(path: string, label = path): Promise<GgufFileInfo> {
  const src = await ggufSourceFromFile(path, label);
  try {
    const file = await readGgufHeader(src);
    const tok = ggufTokenizerFiles(file.metadata, label);
    const files = modelFilesFromBytes({ 'tokenizer.json': JSON.stringify(tok.tokenizerJson), 'tokenizer_config.json': JSON.stringify(tok.tokenizerConfig) }, label);
    const tokenizer = await HfTokenizer.load(files, tok.stopIds);
    const counts = new Map<string, number>();
    for (const t of file.tensors) counts.set(ggmlTypeName(t.type), (counts.get(ggmlTypeName(t.type)) ?? 0) + t.elements);
    const precision = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'unknown';
    return { tokenizer, precision, arch: String(file.metadata.get('general.architecture') ?? 'unknown') };
  } finally {
    await src.close();
  }
}
