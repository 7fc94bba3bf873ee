// Unit and reference tests compute gradients the way the runner and the worker do (src/cli/backend.ts,
// workers/tf-backend.ts): through the memory-lean backprop. lean-gradients.test.ts compares it with stock.
import { installLeanGradients } from '../../src/util/lean-gradients.ts';

installLeanGradients();
