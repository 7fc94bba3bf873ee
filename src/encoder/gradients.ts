// tfjs-core ships its gradient functions separately: without this import, tf.variableGrads fails with
// "gradient function not found". One module so that every encoder file shares the same registration.
// Node note: the file imported is ESM with extensionless relative imports. Vite and Vitest resolve them;
// plain Node / tsx need the resolve hook in src/cli/tfjs-gradients.ts installed before this module loads.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
