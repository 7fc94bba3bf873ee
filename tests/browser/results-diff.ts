// Two results.json objects compared leaf by leaf: numbers within a tolerance, everything else equal, some
// paths skipped (a dataset's name is a label: the page names a dropped folder "dataset", the runner by
// its path). Returns one line per difference, so a failing test prints all of them.

export function resultsDiff(a: unknown, b: unknown, tolerance: number, skip: (path: string) => boolean, path = ''): string[] {
  if (skip(path)) return [];
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= tolerance || (Number.isNaN(a) && Number.isNaN(b)) ? [] : [`${path}: ${a} vs ${b}`];
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${path}: ${a.length} items vs ${b.length}`];
    return a.flatMap((x, i) => resultsDiff(x, b[i], tolerance, skip, `${path}[${i}]`));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => resultsDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], tolerance, skip, `${path}.${k}`));
  }
  return a === b ? [] : [`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`];
}
