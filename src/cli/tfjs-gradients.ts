// tfjs gradients in plain Node (tsx): tfjs-core publishes its gradient registrations only as ESM files
// with extensionless relative imports ('../gradients', './gradients/Abs_grad'); Node's resolver rejects
// them ('../gradients' is both a file and a folder). A resolve hook adds '.js' to relative specifiers
// inside tfjs-core/dist, then the registrations load (into the same global registry the CJS build
// uses). Call once before tf.variableGrads in a runner command; bundled code imports src/llm/gradients.ts.
import { register } from 'node:module';

const HOOK = `export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && !specifier.endsWith('.js') && (context.parentURL ?? '').includes('/@tensorflow/tfjs-core/dist/')) {
    return next(specifier + '.js', context);
  }
  return next(specifier, context);
}`;

let done: Promise<void> | null = null;

export function registerGradientsNode(): Promise<void> {
  done ??= (async () => {
    register('data:text/javascript,' + encodeURIComponent(HOOK));
    await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  })();
  return done;
}
