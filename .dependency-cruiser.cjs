// The import rules of ExpandR Web (docs/ARCHITECTURE.md): imports point down the layers only, layers of
// the same rank do not import each other, and no files import each other in a circle (type-only imports
// included). `npm test` runs `npm run -s check:imports`, which fails on any violation.
/** Layers from the bottom up; folders on one line share a rank. */
const LAYERS = [
  ['src/errors\\.ts'],
  ['src/util'],
  ['src/data'],
  ['src/store'],
  ['src/eval', 'src/model'],
  ['src/encoder', 'src/llm'],
  ['src/retrieval'],
  ['src/train'],
  ['src/pipeline'],
  ['src/app'],
  ['src/ui', 'src/cli', 'workers'],
];

const pathOf = (folder) => `^${folder}(/|$)`;
const forbidden = [];
LAYERS.forEach((layer, rank) => {
  for (const folder of layer) {
    const above = LAYERS.slice(rank + 1).flat();
    const siblings = layer.filter((f) => f !== folder);
    if (above.length) forbidden.push({
      name: `up-from-${folder.replace(/\W+/g, '-')}`,
      comment: `${folder} may import only layers below it (docs/ARCHITECTURE.md)`,
      severity: 'error',
      from: { path: pathOf(folder) },
      to: { path: above.map(pathOf) },
    });
    if (siblings.length) forbidden.push({
      name: `across-from-${folder.replace(/\W+/g, '-')}`,
      comment: `${folder} and ${siblings.join(', ')} share a rank and do not import each other`,
      severity: 'error',
      from: { path: pathOf(folder) },
      // The page starts its workers through Vite's `?worker` entry import: a URL, not shared code.
      to: { path: siblings.map(pathOf), ...(folder === 'src/ui' ? { pathNot: '^workers/[^/]+\\.worker\\.ts$' } : {}) },
    });
  }
});
forbidden.push({
  name: 'no-circular',
  comment: 'files do not import each other in a circle (type-only imports count)',
  severity: 'error',
  from: {},
  to: { circular: true },
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|\\.cache)' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.svelte', '.json'] },
  },
};
