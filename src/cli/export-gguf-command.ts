// `expandr export-gguf`: a LoRA adapter (PEFT folder or zip, e.g. from train-llm) merged into the GGUF model it
// was trained on and written as a new GGUF that llama.cpp, Ollama, LM Studio and transformers load, tokenizer
// and chat template carried over (src/llm/gguf/merge-export.ts). Streams: one tensor in memory at a time,
// written to OUT.partial and renamed when complete.
import { open, rename, rm } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { ggufDecoderConfig } from '../llm/gguf/decoder.ts';
import { peftMergedWeights } from '../llm/gguf/merge.ts';
import { DEFAULT_GGUF_EXPORT_TYPES, exportTunedGguf, GGUF_EXPORT_TYPES, ggufWeightSource, type GgufExportTypes } from '../llm/gguf/merge-export.ts';
import { ggufSourceFromFile } from '../llm/gguf/node-source.ts';
import { readGgufHeader } from '../llm/gguf/reader.ts';
import type { GgufSink } from '../llm/gguf/writer.ts';
import { readAdapterPath } from './adapter-files.ts';
import { parseCommandArgs } from './args.ts';
import { stderrProgress } from './progress.ts';

export const EXPORT_GGUF_HELP = `export-gguf  Merge a LoRA adapter into its GGUF model and write the tuned model as a GGUF file.

Options:
  --model FILE.gguf    the GGUF model the adapter was trained on                                   (required)
  --adapter PATH       the PEFT adapter (folder or zip, e.g. train-llm's --out)                  (required)
  --out OUT.gguf       the file to write                                                          (required)
  --type T             source (default): merged matrices F16, every other tensor copied from the source;
                       requantize: merged matrices requantized to their source type (Q4_0/1, Q5_0/1, Q8_0);
                       f16: every matrix F16
  --json               print one JSON object as the last line`;

/** A Node file as the writer's sink (positioned writes in order). */
async function fileSink(path: string): Promise<GgufSink & { close(): Promise<void> }> {
  const fh = await open(path, 'w');
  return {
    async write(chunk) {
      let at = 0;
      while (at < chunk.length) at += (await fh.write(chunk, at, chunk.length - at)).bytesWritten;
    },
    close: () => fh.close(),
  };
}

export async function exportGgufCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const a = parseCommandArgs('export-gguf', argv, {
    model: { type: 'string' },
    adapter: { type: 'string' },
    out: { type: 'string' },
    type: { type: 'string' },
    json: { type: 'boolean' },
  });
  const model = a.need('model');
  const adapterPath = a.need('adapter');
  const out = a.need('out');
  const types = (a.str('type') ?? DEFAULT_GGUF_EXPORT_TYPES) as GgufExportTypes;
  if (!GGUF_EXPORT_TYPES.includes(types)) throw new UsageError(`export-gguf: --type must be one of ${GGUF_EXPORT_TYPES.join(', ')}, got "${types}".`);
  if (!model.toLowerCase().endsWith('.gguf')) throw new UsageError('export-gguf: --model must be a .gguf file (the model the adapter was trained on).');

  const t0 = performance.now();
  const src = await ggufSourceFromFile(model);
  const partial = `${out}.partial`;
  try {
    const file = await readGgufHeader(src);
    const config = ggufDecoderConfig(file, src.label);
    const tuned = peftMergedWeights(ggufWeightSource(src, file, config), readAdapterPath(adapterPath), adapterPath);
    const sink = await fileSink(partial);
    let summary;
    try {
      summary = await exportTunedGguf(src, file, config, tuned, sink, { types, onProgress: stderrProgress(), signal });
    } finally {
      await sink.close();
    }
    await rename(partial, out);
    const result = { out, ...summary, seconds: Number(((performance.now() - t0) / 1000).toFixed(2)) };
    if (a.flag('json')) {
      console.log(JSON.stringify(result));
      return;
    }
    const counts = Object.entries(summary.typeCounts).map(([t, n]) => `${n} ${t}`).join(', ');
    console.log(`wrote ${out} (${(summary.bytes / 2 ** 20).toFixed(1)} MiB, ${summary.tensors} tensors: ${counts}; ${summary.merged.length} merged matrices) in ${result.seconds} s`);
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  } finally {
    await src.close();
  }
}
