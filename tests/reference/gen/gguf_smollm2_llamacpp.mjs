// What llama.cpp itself makes of SmolLM2-135M-Instruct's tokenizer: the outside reference for the GGUF's own
// tokenizer (`tokenizer.ggml.pre = smollm`: digits split before the GPT-2 regex), where transformers' GGUF
// tokenizer departs from it (gen/gguf_smollm2.py, FACTS.md). llama.cpp through node-llama-cpp 3.21.1, whose
// npm package ships the linux-x64 llama.cpp binary (no build).
//
// Reads the texts, chat prompts and greedy tokens of tests/reference/fixtures/gguf-smollm2.json (run
// gguf_smollm2.py first) and writes tests/reference/fixtures/gguf-smollm2-llamacpp.json:
//   texts[i].ids     llama_tokenize(text, add_special = false, parse_special = true): control tokens whole,
//                    as a chat prompt is tokenized
//   chat[i].ids      the same for each rendered chat prompt
//   greedy[i].text   llama_detokenize of transformers' greedy tokens (special tokens dropped)
//   vocab            bos/eos/eot, whether llama.cpp prepends BOS, and every id that ends a generation
//
// Run from the project root (node-llama-cpp is not a project dependency: it installs into the cache):
//   npm install --prefix .cache/node-llama-cpp --ignore-scripts --no-audit --no-fund node-llama-cpp@3.21.1
//   node tests/reference/gen/gguf_smollm2_llamacpp.mjs [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURE = join(ROOT, 'tests/reference/fixtures/gguf-smollm2.json');
const OUT = join(ROOT, 'tests/reference/fixtures/gguf-smollm2-llamacpp.json');
const PACKAGE = join(ROOT, '.cache/node-llama-cpp/node_modules/node-llama-cpp');
const gguf = resolve(process.argv[2] ?? join(ROOT, '.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf'));

const { getLlama } = await import(pathToFileURL(join(PACKAGE, 'dist/index.js')).href);
const version = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')).version;
const reference = JSON.parse(readFileSync(FIXTURE, 'utf8'));

const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0, vocabOnly: true });
const ids = (text) => [...model.tokenize(text, true)];
const out = {
  generator: 'tests/reference/gen/gguf_smollm2_llamacpp.mjs',
  versions: { 'node-llama-cpp': version },
  file: { name: reference.file.name, sha256: reference.file.sha256 },
  texts: reference.tokenizer.texts.map((t) => ({ text: t.text, ids: ids(t.text) })),
  chat: reference.chat.map((c) => ({ rendered: c.rendered, ids: ids(c.rendered) })),
  greedy: reference.greedy.map((g) => ({ tokens: g.tokens, text: model.detokenize(g.tokens, false) })),
  vocab: {
    bos: model.tokens.bos,
    eos: model.tokens.eos,
    eot: model.tokens.eot,
    prepends_bos: model.tokens.shouldPrependBosToken,
    end_of_generation: Array.from({ length: reference.config.vocab_size }, (_, i) => i).filter((i) => model.isEogToken(i)),
  },
};
writeFileSync(OUT, JSON.stringify(out) + '\n');
console.log(`wrote ${OUT} (node-llama-cpp ${version})`);
await model.dispose();
await llama.dispose();
