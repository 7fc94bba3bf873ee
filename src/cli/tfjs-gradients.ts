// tfjs gradients in plain Node (tsx): tfjs-core publishes its gradient registrations only as ESM files
// with extensionless relative imports ('../gradients', './gradients/Abs_grad'); Node's resolver rejects
// them ('../gradients' is both a file and a folder). A resolve hook adds '.js' to relative specifiers
// inside tfjs-core/dist; then the registrations load (into the same global registry the CJS build uses).
// The hook only affects modules resolved AFTER it is registered: a module that imports the gradients
// statically must be loaded with a dynamic import() after registerTfjsResolveHook() (or the process
// started with `node --import` of a hook, as tests/reference/helpers/register-tfjs-esm-hooks.mjs does).
import { register } from 'node:module';

const HOOK = `export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && !/\\.[cm]?js$/.test(specifier) && (context.parentURL ?? '').includes('/@tensorflow/tfjs-core/dist/')) {
    return next(specifier + '.js', context);
  }
  return next(specifier, context);
}`;

let hooked = false;
let loaded: Promise<void> | null = null;

/** Installs the resolve hook (idempotent). */
export function registerTfjsResolveHook(): void {
  if (hooked) return;
  register('data:text/javascript,' + encodeURIComponent(HOOK));
  hooked = true;
}

/** Hook + every gradient registration; call once before tf.variableGrads in a runner command. */
export function registerGradientsNode(): Promise<void> {
  registerTfjsResolveHook();
  loaded ??= import('@tensorflow/tfjs-core/dist/register_all_gradients').then(() => undefined);
  return loaded;
}
