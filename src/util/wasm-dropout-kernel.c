// tf.dropout's multiplier, floor(u + keep) / keep in float32 with u = tf.randomUniform(shape, 0, 1, 'float32',
// seed), bit for bit, as one pass over tfjs-backend-wasm's memory. tfjs draws u in JavaScript from seedrandom's
// Alea (3.0.5: lib/alea.js) — ~50 ms for attention's 6.3 M probabilities in a MiniLM training step; here the
// same generator runs in double precision exactly as there:
//   t = 2091639·s0 + c·2^-32;  s0 = s1;  s1 = s2;  c = ToInt32(t);  s2 = t − c;  u = float32(s2)
// (t is in [0, 2091640), so ToInt32 is truncation), then the float32 add, floor and divide of tf.dropout.
// The caller seeds the state (s0, s1, s2, c) with seedrandom's own Mash (wasm-dropout-kernel.ts).
// Freestanding (no libc, no stack, no data segment), like wasm-attention-kernel.c; same build.

/** out[i] = floor(u_i + keep) / keep for the next n draws of the Alea state at `state` (s0, s1, s2, c), advanced. */
__attribute__((export_name("dropout_multiplier"))) void dropout_multiplier(float *out, int n, double *state, float keep) {
  double s0 = state[0], s1 = state[1], s2 = state[2], c = state[3];
  for (int i = 0; i < n; i++) {
    const double t = 2091639.0 * s0 + c * 2.3283064365386963e-10;
    s0 = s1;
    s1 = s2;
    c = (double)(int)t;
    s2 = t - c;
    out[i] = __builtin_floorf((float)s2 + keep) / keep;
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = c;
}
