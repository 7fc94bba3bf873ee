// Registers every tfjs gradient (tfjs-core ships them separately from the ops). Import this module for
// its side effect wherever the decoder is differentiated (log-probs with grads, DPO) under a bundler —
// Vite (browser, workers) and vitest. Plain Node/tsx cannot load these ESM files as published (their
// extensionless imports collide with the dist/gradients/ folder): the runner calls registerGradientsNode()
// from src/cli/tfjs-gradients.ts instead.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
