// The runner's entry point. tfjs-core's gradient registrations need a Node resolve hook (see
// tfjs-gradients.ts) that only applies to modules loaded after it: install it, then load the runner.
import { registerTfjsResolveHook } from './tfjs-gradients.ts';

registerTfjsResolveHook();
await import('./main.ts');
