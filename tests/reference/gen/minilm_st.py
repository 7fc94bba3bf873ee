"""Embeddings of real SciFact texts from the real all-MiniLM-L6-v2, computed by sentence-transformers.

Output (read by tests/reference/minilm-st.test.ts):
  tests/reference/fixtures/minilm-st.json   model id and file checksum, the settings sentence-transformers
      loaded (max_seq_length from sentence_bert_config.json, the modules: Transformer → Pooling(mean) →
      Normalize), and for each text its id, kind (doc/query), the text, its token count before truncation,
      and the embedding `SentenceTransformer(folder).encode(texts)` returns, as little-endian float32 base64.

Texts: 60 SciFact documents (title + " " + text, as the runner embeds them), every 86th of the corpus in
file order, of which many exceed max_seq_length 256 and are truncated; and the first 24 test queries.

Run from the project root, after scripts/ensure-python.sh (the venv) and scripts/ensure-models.sh (the model):
    .cache/venv-interop/bin/python tests/reference/gen/minilm_st.py
Deterministic (no randomness; cpu, float32): re-running rewrites the same file up to float rounding.
"""

import base64
import gzip
import hashlib
import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

ROOT = Path(__file__).resolve().parents[3]
MODEL_DIR = ROOT / '.cache/models/all-MiniLM-L6-v2'
SCIFACT = ROOT.parent / 'shared/data/beir/scifact'
OUT = ROOT / 'tests/reference/fixtures/minilm-st.json'
DOC_STRIDE = 86  # every 86th document: 60 spread over the 5,183
N_DOCS = 60
N_QUERIES = 24


def load_docs():
    docs = []
    with gzip.open(SCIFACT / 'corpus.jsonl.gz', 'rt', encoding='utf-8') as f:
        for i, line in enumerate(f):
            if i % DOC_STRIDE == 0 and len(docs) < N_DOCS:
                d = json.loads(line)
                docs.append((str(d['_id']), (d.get('title') or '') + ' ' + (d.get('text') or '')))
    return docs


def load_queries():
    test_ids = []
    with open(SCIFACT / 'qrels/test.tsv', encoding='utf-8') as f:
        next(f)  # header
        for line in f:
            qid = line.split('\t')[0]
            if qid not in test_ids:
                test_ids.append(qid)
    wanted = set(test_ids[:N_QUERIES])
    texts = {}
    with open(SCIFACT / 'queries.jsonl', encoding='utf-8') as f:
        for line in f:
            q = json.loads(line)
            if str(q['_id']) in wanted:
                texts[str(q['_id'])] = q['text']
    return [(qid, texts[qid]) for qid in test_ids[:N_QUERIES]]


def main():
    torch.set_num_threads(2)
    model = SentenceTransformer(str(MODEL_DIR), device='cpu')
    modules = [type(m).__name__ for m in model]
    assert modules == ['Transformer', 'Pooling', 'Normalize'], modules
    max_len = model.max_seq_length
    assert max_len == 256, max_len
    tok = model.tokenizer

    rows = [('doc', i, t) for i, t in load_docs()] + [('query', i, t) for i, t in load_queries()]
    texts = [t for _, _, t in rows]
    # The pipeline exactly as a user calls it: the modules (mean pooling, Normalize) do the rest.
    emb = model.encode(texts, batch_size=16, convert_to_numpy=True, show_progress_bar=False)
    assert emb.dtype == np.float32 and emb.shape == (len(texts), 384), (emb.dtype, emb.shape)
    norms = np.linalg.norm(emb, axis=1)
    assert np.allclose(norms, 1, atol=1e-5), norms

    lengths = [len(tok(t, add_special_tokens=True, truncation=False)['input_ids']) for t in texts]
    sha = hashlib.sha256((MODEL_DIR / 'model.safetensors').read_bytes()).hexdigest()
    out = {
        'generator': 'tests/reference/gen/minilm_st.py',
        'versions': {k: version(k) for k in ('sentence-transformers', 'transformers', 'tokenizers')} | {'torch': torch.__version__},
        'model': 'all-MiniLM-L6-v2',
        'modelSha256': sha,
        'modules': modules,
        'maxSeqLength': max_len,
        'dim': int(emb.shape[1]),
        'embeddingEncoding': 'float32 little-endian, base64',
        'rows': [
            {
                'kind': kind,
                'id': rid,
                'text': text,
                'tokens': n,  # with [CLS]/[SEP], before truncation to maxSeqLength
                'embedding': base64.b64encode(emb[k].astype('<f4').tobytes()).decode('ascii'),
            }
            for k, ((kind, rid, text), n) in enumerate(zip(rows, lengths))
        ],
    }
    OUT.write_text(json.dumps(out, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    long = sum(n > max_len for n in lengths)
    print(f'wrote {OUT}: {len(rows)} texts ({N_DOCS} docs, {long} longer than {max_len} tokens), {OUT.stat().st_size} bytes')


if __name__ == '__main__':
    main()
