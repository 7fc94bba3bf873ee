// The runner's flags that raise the data limits (src/data/limits.ts) for a real dataset that meets one:
// --max-line-bytes, --max-inflate-ratio, --max-members, --max-depth. A command spreads DATA_LIMIT_OPTIONS
// into its options and hands dataLimits(args) to loadBeir / sourcesFromPath.
import { UsageError } from '../errors.ts';
import { DATA_LIMITS, formatLimit, LIMIT_FLAGS, type DataLimits } from '../data/limits.ts';
import type { OptionSpec, ParsedArgs } from './args.ts';

const KEYS = Object.keys(LIMIT_FLAGS) as (keyof DataLimits)[];
const flagName = (key: keyof DataLimits) => LIMIT_FLAGS[key].flag.slice(2);

export const DATA_LIMIT_OPTIONS: OptionSpec = Object.fromEntries(KEYS.map((k) => [flagName(k), { type: 'string' }]));

const WHAT: Record<keyof DataLimits, string> = {
  maxLineBytes: 'longest line, bytes',
  maxInflateRatio: 'inflated / compressed bytes of a zip member or .gz',
  maxMembers: 'files in a zip or folder',
  maxDepth: 'folder nesting of a path',
};

export const DATA_LIMIT_HELP = `Data limits (raise one only when a real dataset meets it; the error names the limit):
${KEYS.map((k) => `  ${`${LIMIT_FLAGS[k].flag} N`.padEnd(23)}${WHAT[k]} (default ${formatLimit(k, DATA_LIMITS[k])})`).join('\n')}`;

/** The limits given on the command line (only those given). */
export function dataLimits(args: ParsedArgs): Partial<DataLimits> {
  const out: Partial<DataLimits> = {};
  for (const k of KEYS) {
    const v = args.str(flagName(k));
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${LIMIT_FLAGS[k].flag} must be a positive integer, got "${v}".`);
    out[k] = n;
  }
  return out;
}
