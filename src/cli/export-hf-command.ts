// `expandr export-hf`: a decoder folder (HF or llama2.c) as a Hugging Face LlamaForCausalLM / Qwen2ForCausalLM
// folder that transformers loads, tokenizer included (src/llm/hf-export.ts); with --adapter, a PEFT adapter trained on that model
// rewritten to fit the export (llama2.c q/k row order → HF's) into --adapter-out.
import { decoderFilesFromPath } from './model-path.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.ts';
import { exportHfDecoder, peftAdapterForHfExport } from '../llm/hf-export.ts';
import { loadDecoderFiles } from '../llm/load.ts';
import { readAdapterPath, writeAdapterPath } from './adapter-files.ts';
import { parseCommandArgs } from './args.ts';

export const EXPORT_HF_HELP = `export-hf  Write a decoder (HF or llama2.c folder) as a Hugging Face LlamaForCausalLM folder.

Options:
  --model PATH         model folder: HF (config.json + model.safetensors) or llama2.c (.bin + tok*.bin),
                       or a .gguf file (llama/qwen2)                                               (required)
  --out DIR            the HF folder to write: config.json, generation_config.json, model.safetensors,
                       tokenizer files (copied from an HF source; a llama2.c tok*.bin is converted)  (required)
  --adapter PATH       a PEFT adapter trained on --model (e.g. from train-llm) to convert alongside
  --adapter-out PATH   where the converted adapter goes (default OUT/adapter)
  --json               print one JSON object as the last line`;

export async function exportHfCommand(argv: string[], _signal: AbortSignal): Promise<void> {
  const a = parseCommandArgs('export-hf', argv, {
    model: { type: 'string' },
    out: { type: 'string' },
    adapter: { type: 'string' },
    'adapter-out': { type: 'string' },
    json: { type: 'boolean' },
  });
  const modelDir = a.need('model');
  const out = a.need('out');
  if (a.str('adapter-out') && !a.str('adapter')) throw new UsageError('export-hf: --adapter-out needs --adapter.');
  const files = await decoderFilesFromPath(modelDir);
  const loaded = await loadDecoderFiles(files);
  // A GGUF carries its tokenizer in the metadata: the loader built tokenizer.json / tokenizer_config.json from it.
  const hf = await exportHfDecoder(loaded.config, loaded.weights, loaded.tokenizerFiles ?? files, loaded.tokenizer);
  mkdirSync(out, { recursive: true });
  for (const [name, bytes] of hf.files) writeFileSync(join(out, name), bytes);
  let adapterOut: string | null = null;
  const adapter = a.str('adapter');
  if (adapter) {
    adapterOut = a.str('adapter-out') ?? join(out, 'adapter');
    writeAdapterPath(adapterOut, peftAdapterForHfExport(readAdapterPath(adapter), loaded.config, out));
  }
  const result = { out, format: loaded.format, architecture: hf.config.arch, permuted_qk: hf.permutedQk, tokenizer_files: hf.tokenizerFiles, adapter_out: adapterOut };
  if (a.flag('json')) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`wrote ${out} (HF ${hf.config.arch === 'qwen2' ? 'Qwen2' : 'Llama'}ForCausalLM${hf.permutedQk ? ', q/k rows permuted to the half RoPE layout' : ''})`);
  if (!hf.tokenizerFiles.length) console.log('no tokenizer files written (the source has none): feed token ids');
  if (adapterOut) console.log(`wrote ${adapterOut} (PEFT adapter for the export)`);
}
