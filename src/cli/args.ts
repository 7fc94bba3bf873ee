// Command-line parsing for the `expandr` runner: node:util parseArgs plus typed, validated getters.
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  str(name: string): string | undefined;
  need(name: string): string;
  int(name: string, fallback: number, min?: number, max?: number): number;
  num(name: string, fallback: number): number;
  flag(name: string): boolean;
}

export function parseCommandArgs(command: string, argv: string[], options: OptionSpec): ParsedArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message}. Run \`npm run -s expandr -- help\` for the options.`);
  }
  const str = (name: string) => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const need = (name: string) => {
    const v = str(name);
    if (v === undefined || v === '') throw new UsageError(`${command}: --${name} is required.`);
    return v;
  };
  const num = (name: string, fallback: number) => {
    const v = str(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`${command}: --${name} must be a number, got "${v}".`);
    return n;
  };
  const int = (name: string, fallback: number, min = -Infinity, max = Infinity) => {
    const n = num(name, fallback);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`${command}: --${name} must be an integer in [${min}, ${max}], got ${n}.`);
    }
    return n;
  };
  return { values, str, need, int, num, flag: (name) => values[name] === true };
}
