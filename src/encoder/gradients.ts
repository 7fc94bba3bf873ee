// tfjs-core ships its gradient functions separately: without this import, tf.variableGrads fails with
// "gradient function not found". One module so that every encoder file shares the same registration.
// Node note: this file is ESM with extensionless relative imports. Vite and Vitest resolve them; plain
// Node (and tsx) need a resolve hook that appends '.js' (see the encoder report / src/cli).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
