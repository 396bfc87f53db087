// Gradients of ReLU and of clipping (ReLU6 is tf.layers' relu followed by clipByValue) in one
// pass each; core computes them with four to five element-wise ops.
#include "kernels.h"

// out = lo <= x <= hi ? dy : 0, as core's where(x >= lo && x <= hi, dy, 0).
EXPORT(clip_grad_f32)(const float *x, const float *dy, float *out, size_t n, float lo, float hi) {
  const f4 vlo = wasm_f32x4_splat(lo), vhi = wasm_f32x4_splat(hi);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const f4 v = f4_load(x + i);
    const v128_t inside = wasm_v128_and(wasm_f32x4_ge(v, vlo), wasm_f32x4_le(v, vhi));
    f4_store(out + i, wasm_v128_and(f4_load(dy + i), inside));
  }
  for (; i < n; i++) out[i] = x[i] >= lo && x[i] <= hi ? dy[i] : 0.0f;
}

// out = dy * step(x), step(x) = x > 0 ? 1 : 0, NaN for NaN x, as core's mul(dy, step(x)).
EXPORT(relu_grad_f32)(const float *x, const float *dy, float *out, size_t n) {
  const f4 zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const f4 v = f4_load(x + i);
    const f4 step = wasm_v128_bitselect(v, wasm_v128_and(wasm_f32x4_gt(v, zero), one), wasm_f32x4_ne(v, v));
    f4_store(out + i, wasm_f32x4_mul(f4_load(dy + i), step));
  }
  for (; i < n; i++) {
    const float step = x[i] != x[i] ? x[i] : x[i] > 0.0f ? 1.0f : 0.0f;
    out[i] = dy[i] * step;
  }
}
