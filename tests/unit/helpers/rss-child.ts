// Runs the expandr runner in this process (argv as the runner's) and writes its peak RSS in bytes to
// the file named by $RSS_OUT at exit: process.resourceUsage().maxRSS of the one process doing the work.
import { writeFileSync } from 'node:fs';

process.on('exit', () => writeFileSync(process.env.RSS_OUT!, String(process.resourceUsage().maxRSS * 1024)));
await import('../../../src/cli/entry.ts');
