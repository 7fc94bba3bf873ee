// Progress on stderr for the runner: one rewritten line per stage on a terminal, sparse lines otherwise.
import type { Progress, ProgressFn } from '../util/progress.ts';
import { formatBytes, formatCount } from '../util/format.ts';

const LOG_INTERVAL_MS = 2000;

export function stderrProgress(): ProgressFn {
  const tty = process.stderr.isTTY;
  let lastStage = '';
  let lastAt = 0;
  let lastLine = '';
  let lineOpen = false; // a tty line is being rewritten and has no newline yet
  return (p: Progress) => {
    const now = Date.now();
    const finished = p.total > 0 && p.done >= p.total;
    if (!tty && p.stage === lastStage && !finished && now - lastAt < LOG_INTERVAL_MS) return;
    const amount =
      p.unit === 'bytes'
        ? `${formatBytes(p.done)}${p.total ? ` / ${formatBytes(p.total)}` : ''}`
        : `${formatCount(p.done)}${p.total ? ` / ${formatCount(p.total)}` : ''} ${p.unit}`;
    const pct = p.total > 0 ? ` ${((100 * p.done) / p.total).toFixed(0)}%` : '';
    const line = `[${p.stage}]${pct} ${amount}${p.text ? ` · ${p.text}` : ''}`;
    if (tty) {
      if (lineOpen && p.stage !== lastStage) process.stderr.write('\n');
      process.stderr.write(`\r\x1b[2K${line}${finished ? '\n' : ''}`);
      lineOpen = !finished;
    }
    else if (line !== lastLine) process.stderr.write(line + '\n');
    lastLine = line;
    lastStage = p.stage;
    lastAt = now;
  };
}
