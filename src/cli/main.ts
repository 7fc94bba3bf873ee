// The `expandr` command-line runner: `npm run -s expandr -- <command> [options]` (DESIGN.md §5).
// Progress goes to stderr; results to stdout; with --json the last stdout line is one JSON object.
import { CancelledError, ExpandrError, UsageError } from '../errors.ts';
import { registerTfjsResolveHook } from './tfjs-gradients.ts';

// Before any command module loads: modules that import tfjs gradients statically (the encoder, the
// decoder) only resolve in plain Node with this hook in place (see tfjs-gradients.ts). Hence the
// dynamic imports below; a static import of a command would be hoisted above this line.
registerTfjsResolveHook();
const { evalCommand, EVAL_HELP } = await import('./eval-command.ts');
const { generateCommand, GENERATE_HELP } = await import('./generate-command.ts');
const { encodeCommand, ENCODE_HELP } = await import('./encode-command.ts');
const { trainRetrieverCommand, TRAIN_RETRIEVER_HELP } = await import('./train-retriever-command.ts');
const { initEncoderCommand, INIT_ENCODER_HELP } = await import('./init-encoder-command.ts');
const { trainLlmCommand, TRAIN_LLM_HELP } = await import('./train-llm-command.ts');
const { experimentCommand, EXPERIMENT_HELP } = await import('./experiment-command.ts');
const { fetchModelCommand, FETCH_MODEL_HELP } = await import('./fetch-model-command.ts');
const { exportHfCommand, EXPORT_HF_HELP } = await import('./export-hf-command.ts');
const { exportGgufCommand, EXPORT_GGUF_HELP } = await import('./export-gguf-command.ts');
const { runsCommand, RUNS_HELP } = await import('./runs-command.ts');
const { analyzeCommand, ANALYZE_HELP } = await import('./analyze-command.ts');
const { evidenceCommand, EVIDENCE_HELP } = await import('./evidence-command.ts');

const COMMANDS: Record<string, { run: (argv: string[], signal: AbortSignal) => Promise<void>; help: string }> = {
  eval: { run: evalCommand, help: EVAL_HELP },
  generate: { run: generateCommand, help: GENERATE_HELP },
  encode: { run: encodeCommand, help: ENCODE_HELP },
  'train-retriever': { run: trainRetrieverCommand, help: TRAIN_RETRIEVER_HELP },
  'init-encoder': { run: initEncoderCommand, help: INIT_ENCODER_HELP },
  'train-llm': { run: trainLlmCommand, help: TRAIN_LLM_HELP },
  experiment: { run: experimentCommand, help: EXPERIMENT_HELP },
  'fetch-model': { run: fetchModelCommand, help: FETCH_MODEL_HELP },
  'export-hf': { run: exportHfCommand, help: EXPORT_HF_HELP },
  'export-gguf': { run: exportGgufCommand, help: EXPORT_GGUF_HELP },
  runs: { run: runsCommand, help: RUNS_HELP },
  analyze: { run: analyzeCommand, help: ANALYZE_HELP },
  evidence: { run: evidenceCommand, help: EVIDENCE_HELP },
};

const USAGE = `Usage: npm run -s expandr -- <command> [options]

Commands:
${Object.values(COMMANDS).map((c) => '  ' + c.help.split('\n')[0]).join('\n')}

Run \`npm run -s expandr -- help <command>\` for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    const topic = rest[0] && COMMANDS[rest[0]];
    console.log(topic ? topic.help : USAGE);
    return 0;
  }
  const entry = COMMANDS[command];
  if (!entry) throw new UsageError(`Unknown command "${command}".\n\n${USAGE}`);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new CancelledError(command)));
  await entry.run(rest, controller.signal);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof ExpandrError) {
      console.error(`expandr: ${e.message}`);
      process.exit(e instanceof UsageError ? 2 : 1);
    }
    console.error(e);
    process.exit(1);
  },
);
