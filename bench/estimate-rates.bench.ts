// Entry of the estimate's rate measurements (estimate-rates-run.ts says what is measured): tfjs-core's
// gradient registrations need the resolve hook before any module that imports tfjs loads.
//
//   npx tsx bench/estimate-rates.bench.ts [--big]
import { registerTfjsResolveHook } from '../src/cli/tfjs-gradients.ts';

registerTfjsResolveHook();
await import('./estimate-rates-run.ts');
