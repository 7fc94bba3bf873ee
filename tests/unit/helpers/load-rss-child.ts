// Loads each BEIR zip named on the command line in turn (the inflate-ratio limit raised, so every
// member is read to its end) and prints one JSON line per zip: its error, if any, and the process's
// peak RSS in bytes so far. The peak is monotone, so the growth from one zip to the next is what the
// larger one cost beyond the smaller.
import { loadBeir } from '../../../src/data/load.ts';
import { sourcesFromPath } from '../../../src/data/node-sources.ts';

for (const zip of process.argv.slice(2)) {
  const t0 = performance.now();
  let error: string | null = null;
  try {
    await loadBeir(await sourcesFromPath(zip), { limits: { maxInflateRatio: 1e9 } });
  } catch (e) {
    error = (e as Error).message;
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ zip, error, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
}
