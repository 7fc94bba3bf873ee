// Node resolve hook: tfjs-core's ESM files (e.g. dist/register_all_gradients.js, which the encoder imports
// to get gradients) use extensionless relative imports ('./gradients' means gradients.js, not the folder).
// Vite and Vitest resolve those; plain Node and tsx do not. Register with
//   node --import ./tests/reference/helpers/register-tfjs-esm-hooks.mjs --import tsx script.ts
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && context.parentURL?.includes('/node_modules/@tensorflow/') && !/\.[cm]?js$/.test(specifier)) {
    for (const candidate of [`${specifier}.js`, `${specifier}/index.js`]) {
      const url = new URL(candidate, context.parentURL);
      if (existsSync(fileURLToPath(url))) return next(url.href, context);
    }
  }
  return next(specifier, context);
}
