// The real models of the training-step benchmark (bench/training-steps*.ts), fetched by scripts/ensure-models.sh.
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
export const MINILM = join(ROOT, '.cache/models/all-MiniLM-L6-v2');
export const SMOLLM2_GGUF = join(ROOT, '.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf');
