// `expandr train-llm`: DPO (Eq. 17) of a LoRA adapter on the tfjs decoder from JSONL preference pairs
// (DESIGN.md §5); writes a PEFT adapter folder (or zip) that PeftModel.from_pretrained loads. --json prints
// loss, margin_before and margin_after: the mean implicit-reward margin β·[(log π(c) − log π_ref(c)) −
// (log π(r) − log π_ref(r))] over the pairs, in eval mode, before and after training (TRL's
// rewards/margins; 0 before training since a fresh adapter is the reference). Checkpoints: OUT/checkpoint/.
import { decoderFilesFromPath } from './model-path.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError, UsageError } from '../errors.ts';
import { DPO_DEFAULTS, type DpoSettings } from '../llm/dpo.ts';
import { parsePreferencePairs, tokenizePair } from '../llm/dpo-data.ts';
import { evaluateDpo, referenceLogProbs } from '../llm/dpo-eval.ts';
import { trainDpo } from '../train/dpo-trainer.ts';
import { loadDecoder } from '../llm/load.ts';
import { LORA_DEFAULTS, LoraAdapters } from '../llm/lora.ts';
import { exportPeftAdapter } from '../llm/lora-peft.ts';
import { formatDuration } from '../util/format.ts';
import { writeAdapterPath } from './adapter-files.ts';
import { folderDpoCheckpointSink } from './checkpoint-folders.ts';
import { parseCommandArgs } from './args.ts';
import { BACKEND_HELP, parseBackend, useBackend } from './backend.ts';
import { stderrProgress } from './progress.ts';
import { registerGradientsNode } from './tfjs-gradients.ts';

const D = DPO_DEFAULTS;
const L = LORA_DEFAULTS;
export const TRAIN_LLM_HELP = `train-llm  DPO-train a LoRA adapter on the tfjs decoder from preference pairs; writes a PEFT adapter folder.

Options:
  --model PATH           model folder: HF (config.json + model.safetensors + tokenizer.json) or llama2.c,
                         or a .gguf file (llama/qwen2)                                        (required)
  --pairs FILE           JSONL, one {"prompt", "chosen", "rejected"} per line                          (required)
  --out PATH             adapter folder, or a .zip                                                      (required)
  --steps N              optimizer steps (default: --epochs passes over the pairs)
  --epochs X             passes when --steps is not given (default ${D.epochs})
  --batch N              pairs per micro-batch (default ${D.batchSize})
  --accumulation N       micro-batches per optimizer step (default ${D.accumulation})
  --lr X                 AdamW peak learning rate, linear decay to 0 (default ${D.lr}); --warmup X ratio (default ${D.warmupRatio})
  --beta X               DPO β (default ${D.beta})
  --max-grad-norm X      gradient-norm clip, 0 = off (default ${D.maxGradNorm})
  --max-length N         tokens of prompt + completion per row (default ${D.maxLength})
  --max-prompt-length N  prompt tokens kept, from the end (default ${D.maxPromptLength})
  --lora-r N             LoRA rank (default ${L.r});  --lora-alpha X (default ${L.alpha});  --lora-dropout X (default ${L.dropout})
  --lora-targets LIST    comma-separated module names (default ${(L.targetModules as string[]).join(',')})
  --dropout              train with dropout on (default off, as TRL's disable_dropout)
  --raw                  do not wrap prompts in the chat template even when the tokenizer has one
  --system TEXT          system message for chat-templated prompts
  --seed N               pair order, dropout and LoRA init (default ${D.seed})
  --vocab-chunk N        vocabulary slice of the chunked log-softmax (default ${D.vocabChunk})
  --checkpoint-every N   save OUT/checkpoint/ every N steps (and at the end)
  --resume               continue from OUT/checkpoint/ when it exists
${BACKEND_HELP}
  --json                 print one JSON object as the last line ({"loss", "margin_before", "margin_after", ...})
  --quiet                no progress on stderr`;

export async function trainLlmCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const a = parseCommandArgs('train-llm', argv, {
    model: { type: 'string' },
    pairs: { type: 'string' },
    out: { type: 'string' },
    steps: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    accumulation: { type: 'string' },
    lr: { type: 'string' },
    warmup: { type: 'string' },
    beta: { type: 'string' },
    'max-grad-norm': { type: 'string' },
    'max-length': { type: 'string' },
    'max-prompt-length': { type: 'string' },
    'lora-r': { type: 'string' },
    'lora-alpha': { type: 'string' },
    'lora-dropout': { type: 'string' },
    'lora-targets': { type: 'string' },
    dropout: { type: 'boolean' },
    raw: { type: 'boolean' },
    system: { type: 'string' },
    seed: { type: 'string' },
    'vocab-chunk': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    resume: { type: 'boolean' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  const modelDir = a.need('model');
  const pairsPath = a.need('pairs');
  const out = a.need('out');
  const seed = a.int('seed', D.seed, 0);
  const settings: DpoSettings = {
    ...D,
    steps: a.int('steps', D.steps, 0),
    epochs: a.num('epochs', D.epochs),
    batchSize: a.int('batch', D.batchSize, 1),
    accumulation: a.int('accumulation', D.accumulation, 1),
    lr: a.num('lr', D.lr),
    warmupRatio: a.num('warmup', D.warmupRatio),
    beta: a.num('beta', D.beta),
    maxGradNorm: a.num('max-grad-norm', D.maxGradNorm),
    maxLength: a.int('max-length', D.maxLength, 2),
    maxPromptLength: a.int('max-prompt-length', D.maxPromptLength, 1),
    seed,
    vocabChunk: a.int('vocab-chunk', D.vocabChunk, 1),
    checkpointEvery: a.int('checkpoint-every', 0, 0),
    disableDropout: !a.flag('dropout'),
  };
  const loraOver = {
    r: a.int('lora-r', L.r, 1),
    alpha: a.num('lora-alpha', L.alpha),
    dropout: a.num('lora-dropout', L.dropout),
    targetModules: a.str('lora-targets')?.split(',').map((t) => t.trim()).filter(Boolean) ?? [...(L.targetModules as string[])],
    seed,
  };
  const useCheckpoints = settings.checkpointEvery > 0 || a.flag('resume');
  if (useCheckpoints && out.toLowerCase().endsWith('.zip')) throw new UsageError('train-llm: --checkpoint-every / --resume need --out to be a folder, not a .zip.');
  const onProgress = a.flag('quiet') ? undefined : stderrProgress();
  const work = { onProgress, signal };

  const t0 = performance.now();
  await registerGradientsNode();
  const backend = await useBackend(parseBackend(a.str('backend')));
  let text: string;
  try {
    text = readFileSync(pairsPath, 'utf8');
  } catch {
    throw new NotFoundError(`${pairsPath}: cannot be read. Give a JSONL file with one {"prompt", "chosen", "rejected"} per line.`);
  }
  const raw = parsePreferencePairs(text, pairsPath);
  const files = await decoderFilesFromPath(modelDir);
  const { model, tokenizer, format } = await loadDecoder(files, work);
  if (!tokenizer) throw new UsageError(`train-llm: ${files.label} has no tokenizer files (tokenizer.json); DPO on text needs them.`);
  const chat = a.flag('raw') ? false : tokenizer.hasChatTemplate;
  let lora: LoraAdapters | null = null;
  try {
    const pairs = raw.map((p) => tokenizePair(tokenizer, p, settings, { chat, system: a.str('system') }));
    const cut = pairs.filter((p) => p.prompt.length >= settings.maxLength).length;
    if (cut) console.error(`warning: ${cut} of ${pairs.length} prompts fill --max-length ${settings.maxLength} on their own: those pairs have no completion tokens left and teach nothing. Lower --max-prompt-length or raise --max-length.`);
    lora = LoraAdapters.attachNew(model, loraOver);
    const loadMs = performance.now() - t0;
    const checkpoints = useCheckpoints ? folderDpoCheckpointSink(join(out, 'checkpoint')) : undefined;
    const t1 = performance.now();
    const stored = a.flag('resume') ? await checkpoints?.latest() : undefined;
    const reference = stored?.reference ?? (await referenceLogProbs(model, pairs, settings, { ...work, padId: tokenizer.padId }));
    const before = await evaluateDpo(model, pairs, reference, settings, { ...work, padId: tokenizer.padId });
    const refMs = performance.now() - t1;
    const t2 = performance.now();
    const r = await trainDpo(model, lora, pairs, { settings, checkpoints, resume: a.flag('resume'), reference, padId: tokenizer.padId, ...work });
    const trainMs = performance.now() - t2;
    const after = await evaluateDpo(model, pairs, reference, settings, { ...work, padId: tokenizer.padId });

    const trainingInfo = {
      format: 'expandr-dpo',
      baseModel: modelDir,
      modelFormat: format,
      pairs: pairsPath,
      pairCount: pairs.length,
      chatTemplate: chat,
      settings: r.settings,
      lora: lora.settings,
      before,
      after,
      curve: r.curve,
    };
    writeAdapterPath(out, await exportPeftAdapter(lora, modelDir, { 'training_info.json': trainingInfo }));

    const ran = r.totalSteps - (r.resumedFrom ?? 0);
    const timings = { loadMs, referenceMs: refMs, trainMs, msPerStep: ran > 0 ? trainMs / ran : null };
    if (a.flag('json')) {
      console.log(
        JSON.stringify({
          loss: r.finalLoss,
          margin_before: before.margin,
          margin_after: after.margin,
          loss_before: before.loss,
          loss_after: after.loss,
          accuracy_before: before.accuracy,
          accuracy_after: after.accuracy,
          steps: r.totalSteps,
          pairs: pairs.length,
          out,
          model: files.label,
          backend,
          chat,
          resumedFrom: r.resumedFrom,
          settings: r.settings,
          lora: lora.settings,
          curve: r.curve.map((p) => [p.step, p.loss, p.margin, p.accuracy]),
          timings,
        }),
      );
      return;
    }
    console.log(`${files.label} · ${pairs.length} pairs · LoRA r ${lora.settings.r} on ${lora.layers.length} modules · ${backend}`);
    console.log(`${r.totalSteps} steps in ${formatDuration(trainMs / 1000)}: loss ${before.loss.toFixed(4)} → ${after.loss.toFixed(4)}, margin ${before.margin.toFixed(4)} → ${after.margin.toFixed(4)}, accuracy ${before.accuracy.toFixed(2)} → ${after.accuracy.toFixed(2)}`);
    console.log(`wrote ${out} (PEFT LoRA adapter)`);
  } finally {
    lora?.dispose();
    model.dispose();
  }
}
