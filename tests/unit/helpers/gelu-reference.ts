// Float64 references for exact GELU: erf by its Maclaurin series (|z| ≤ 2.5, terms to 1e-17 of the sum) and
// erfc by its continued fraction (Lentz; z > 2.5), so Φ keeps its relative accuracy far into the left tail.
// Checked against tabulated values in encoder-wasm-gelu.test.ts.

/** erfc(z)·e^(z²) for z ≥ 0. */
function scaledErfc(z: number): number {
  if (z <= 2.5) return (1 - erfSeries(z)) * Math.exp(z * z);
  // erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …))))
  let f = z;
  let c = z;
  let d = 0;
  for (let k = 1; k < 300; k++) {
    d = 1 / (z + (k / 2) * d);
    c = z + k / 2 / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / (Math.sqrt(Math.PI) * f);
}

function erfSeries(z: number): number {
  let sum = 0;
  let term = z; // (−1)^n z^(2n+1)/n!
  for (let n = 0; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum) + 1e-300; n++) {
    sum += term / (2 * n + 1);
    term *= (-z * z) / (n + 1);
  }
  return (sum * 2) / Math.sqrt(Math.PI);
}

/** erf(z), float64. */
export function erf64(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const a = Math.abs(z);
  const v = a <= 2.5 ? erfSeries(a) : 1 - scaledErfc(a) * Math.exp(-a * a);
  return z < 0 ? -v : v;
}

/** Φ(x), the standard normal CDF, float64 (through erfc on the left: no cancellation). */
export function normalCdf64(x: number): number {
  const z = x / Math.SQRT2;
  if (z < 0) return 0.5 * scaledErfc(-z) * Math.exp(-z * z);
  return 0.5 + 0.5 * erf64(z);
}

/** gelu(x) = x·Φ(x). */
export const gelu64 = (x: number): number => x * normalCdf64(x);

/** gelu'(x) = Φ(x) + x·φ(x). */
export const geluGrad64 = (x: number): number => normalCdf64(x) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
