// Several seeds (config `seeds`): every trained setting (FT, ExpandR and the ablations that train) runs once
// per seed, and its row reports the mean and the sample standard deviation over the seeds. The seed moves
// what training draws (batch order, dropout, hard negatives, LoRA's initialisation, DPO's pair order); the
// base LLM's expansions, candidates and answers are generated once and shared, as they are across rows.
// The paired tests of a seeded row read each query's mean over the seeds.
//
// Stage and file-set names carry the seed (seededName), so a resumed run picks up each seed's own stages.

/** Per metric over the seeds of a row. */
export interface SeedStats {
  seeds: number[];
  /** metric → mean over the seeds (the row's own values). */
  mean: Record<string, number>;
  /** metric → sample standard deviation over the seeds (n − 1; 0 for one seed). */
  sd: Record<string, number>;
  /** metric → the value of each seed, in `seeds` order. */
  perSeed: Record<string, number[]>;
}

/**
 * The name of `name` (a retriever, an adapter) trained with `seed`: unchanged for the config's own `seed`, so
 * that runs made before seeds existed resume; NAME@seedS for the others.
 */
export function seededName(name: string, seed: number, configSeed: number): string {
  return seed === configSeed ? name : `${name}@seed${seed}`;
}

/** The seeds a config runs, in order: its `seeds`, or its one `seed` (a config stored before seeds existed, or none listed). */
export function seedsOf(config: { seed: number; seeds?: readonly number[] }): readonly number[] {
  return config.seeds?.length ? config.seeds : [config.seed];
}

/** The name seededName gave `name` back at the config's seed: 'round-1@seed43' → 'round-1'. */
export function unseededName(name: string, seed: number, configSeed: number): string {
  const tag = `@seed${seed}`;
  return seed !== configSeed && name.endsWith(tag) ? name.slice(0, -tag.length) : name;
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd };
}

/** What combineSeeds needs of a setting's evaluation (SettingEval in results.ts). */
export interface SeedEvalLike {
  metrics: Record<string, number>;
  /** qid → metric → value. */
  perQuery: Record<string, Record<string, number>>;
}

/**
 * One evaluation from one per seed (in seed order): metrics are the means over the seeds, per-query values
 * each query's mean over the seeds (what the paired tests read), and `seedStats` says how they spread. The
 * other fields (scoring, generation, t-SNE pairs…) are the first seed's. A single run comes back as it is.
 */
export function combineSeeds<E extends SeedEvalLike>(runs: readonly { seed: number; eval: E }[]): E & { seedStats?: SeedStats } {
  if (runs.length === 0) throw new RangeError('combineSeeds: no runs');
  if (runs.length === 1) return runs[0].eval;
  const first = runs[0].eval;
  const qids = Object.keys(first.perQuery);
  for (const r of runs) {
    const q = Object.keys(r.eval.perQuery);
    if (q.length !== qids.length || q.some((id) => !(id in first.perQuery))) {
      throw new RangeError(`combineSeeds: seed ${r.seed} was evaluated on other queries than seed ${runs[0].seed}`);
    }
  }
  const stats: SeedStats = { seeds: runs.map((r) => r.seed), mean: {}, sd: {}, perSeed: {} };
  for (const m of Object.keys(first.metrics)) {
    const xs = runs.map((r) => r.eval.metrics[m]);
    const { mean, sd } = meanSd(xs);
    stats.mean[m] = mean;
    stats.sd[m] = sd;
    stats.perSeed[m] = xs;
  }
  const perQuery = Object.fromEntries(
    qids.map((q) => [q, Object.fromEntries(Object.keys(first.perQuery[q]).map((m) => [m, meanSd(runs.map((r) => r.eval.perQuery[q][m])).mean]))]),
  );
  return { ...first, metrics: { ...stats.mean }, perQuery, seedStats: stats };
}

/** A markdown cell: '0.7012 ± 0.0031' for a seeded row, '0.7012' otherwise. */
export function meanSdText(value: number, sd: number | undefined, digits = 4): string {
  if (value === undefined || Number.isNaN(value)) return '';
  return sd === undefined ? value.toFixed(digits) : `${value.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

/** The line under a table with seeded rows ('' when none). */
export function seedsLegend(rows: readonly { setting: string; seeds?: number[] }[]): string {
  const seeded = rows.filter((r) => r.seeds && r.seeds.length > 1);
  if (!seeded.length) return '';
  return (
    `± : mean ± sample standard deviation (n − 1) over seeds ${seeded[0].seeds!.join(', ')} for ${seeded.map((r) => r.setting).join(', ')}; ` +
    'their paired tests read each query’s mean over the seeds (perSeed in results.json has every seed’s value).'
  );
}

/** Each setting's evaluations over the seeds' runs combined (combineSeeds), in the first run's order. */
export function combineBySetting<E extends SeedEvalLike & { setting: string }>(runs: readonly { seed: number; evals: readonly E[] }[]): (E & { seedStats?: SeedStats })[] {
  if (runs.length === 0) return [];
  // A setting outside config.seededSettings ran with the first seed only: it combines the seeds that have it.
  return runs[0].evals.map((e) => combineSeeds(runs.flatMap((r) => r.evals.filter((x) => x.setting === e.setting).slice(0, 1).map((same) => ({ seed: r.seed, eval: same })))));
}

/**
 * Evaluations read back from stored stages (eval:SETTING, eval:SETTING@seedS): one per setting, the seeds
 * of a setting combined in `order` (config.seeds; the config's seed for an unseeded stage), as the loop
 * reports them. A run stopped between seeds gives the mean of the seeds it finished.
 */
export function combineStoredEvals<E extends SeedEvalLike & { setting: string }>(
  stored: readonly { seed?: number; eval: E }[],
  configSeed: number,
  order: readonly number[] = [configSeed],
): (E & { seedStats?: SeedStats })[] {
  const by = new Map<string, { seed: number; eval: E }[]>();
  for (const s of stored) {
    const runs = by.get(s.eval.setting) ?? [];
    runs.push({ seed: s.seed ?? configSeed, eval: s.eval });
    by.set(s.eval.setting, runs);
  }
  const rank = (seed: number) => (order.includes(seed) ? order.indexOf(seed) : order.length + seed);
  return [...by.values()].map((runs) => combineSeeds([...runs].sort((a, b) => rank(a.seed) - rank(b.seed))));
}
