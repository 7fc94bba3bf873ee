// tf.dropout's multiplier, floor(u + keep) / keep in float32 with u = tf.randomUniform(shape, 0, 1, 'float32',
// seed), bit for bit, as one pass over tfjs-backend-wasm's memory. tfjs draws u in JavaScript from seedrandom's
// Alea (3.0.5: lib/alea.js) — ~50 ms for attention's 6.3 M probabilities in a MiniLM training step; here the
// same generator runs in double precision exactly as there:
//   t = 2091639·s0 + c·2^-32;  s0 = s1;  s1 = s2;  c = ToInt32(t);  s2 = t − c;  u = float32(s2)
// (t is in [0, 2091640), so ToInt32 is truncation), then the float32 add, floor and divide of tf.dropout.
// Alea's carry chain is serial, so the range is cut into LANES lanes whose start states the caller jumps to
// (wasm-dropout-kernel.ts: Alea is a multiply-with-carry generator, an LCG in disguise); the lanes' chains
// interleave in one loop, and helper threads take ranges of their own.
// Freestanding (no libc, no stack, no data segment), like wasm-attention-kernel.c; same build.

typedef float f32;

#define LANES 4
#define A 2091639.0
#define INV_2_32 2.3283064365386963e-10

// One Alea draw of lane L (its state in s0L, s1L, s2L, cL), as the multiplier m.
#define DRAW(L, m)                                   \
  do {                                               \
    const double t = A * s0##L + c##L * INV_2_32;    \
    s0##L = s1##L;                                   \
    s1##L = s2##L;                                   \
    c##L = (double)(int)t;                           \
    s2##L = t - c##L;                                \
    m = __builtin_floorf((f32)s2##L + keep) / keep;  \
  } while (0)

#define LOAD(L) double s0##L = st[4 * L], s1##L = st[4 * L + 1], s2##L = st[4 * L + 2], c##L = st[4 * L + 3]

/**
 * out[i] = floor(u_i + keep) / keep, times x[i] where x is not 0, for i in [0, n): lane l covers [l·q, l·q + q)
 * with q = n / LANES (the last lane also the rest) and starts from the Alea state st[4l..4l+3] (s0, s1, s2, c).
 */
__attribute__((export_name("dropout_lanes"))) void dropout_lanes(const f32 *x, f32 *out, int n, const double *st, f32 keep) {
  const int q = n / LANES;
  LOAD(0);
  LOAD(1);
  LOAD(2);
  LOAD(3);
  f32 m0, m1, m2, m3;
  for (int i = 0; i < q; i++) {
    DRAW(0, m0);
    DRAW(1, m1);
    DRAW(2, m2);
    DRAW(3, m3);
    if (x) {
      m0 *= x[i];
      m1 *= x[q + i];
      m2 *= x[2 * q + i];
      m3 *= x[3 * q + i];
    }
    out[i] = m0;
    out[q + i] = m1;
    out[2 * q + i] = m2;
    out[3 * q + i] = m3;
  }
  for (int i = 4 * q; i < n; i++) {
    DRAW(3, m3);
    out[i] = x ? m3 * x[i] : m3;
  }
}
