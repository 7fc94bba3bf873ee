// The `expandr` command-line runner: `npm run -s expandr -- <command> [options]` (DESIGN.md §5).
// Progress goes to stderr; results to stdout; with --json the last stdout line is one JSON object.
import { CancelledError, ExpandrError, UsageError } from '../errors.ts';
import { evalCommand, EVAL_HELP } from './eval-command.ts';
import { generateCommand, GENERATE_HELP } from './generate-command.ts';
import { encodeCommand, ENCODE_HELP } from './encode-command.ts';

const COMMANDS: Record<string, { run: (argv: string[], signal: AbortSignal) => Promise<void>; help: string }> = {
  eval: { run: evalCommand, help: EVAL_HELP },
  generate: { run: generateCommand, help: GENERATE_HELP },
  encode: { run: encodeCommand, help: ENCODE_HELP },
};

const USAGE = `Usage: npm run -s expandr -- <command> [options]

Commands:
${Object.values(COMMANDS).map((c) => '  ' + c.help.split('\n')[0]).join('\n')}

Run \`npm run -s expandr -- help <command>\` for a command's options.
Not in this version yet: train-retriever, generate, train-llm, experiment.`;

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
