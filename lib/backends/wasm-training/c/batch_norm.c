// Batch norm over the last axis: the forward pass, and the two per-channel sums its gradient
// needs, sum(dy) and sum(dy * (x - mean)), in one pass over x and dy.
#include "kernels.h"

#define CHUNK_ROWS 64

// out[r][c] = (x[r][c] - mean[c]) * factor[c] + offset[c], factor = scale / sqrt(variance + epsilon).
EXPORT(batch_norm_f32)(const float *x, const float *mean, const float *factor, const float *offset, float *out,
                       size_t rows, size_t channels) {
  for (size_t r = 0; r < rows; r++, x += channels, out += channels) {
    size_t c = 0;
    for (; c + 4 <= channels; c += 4) {
      const f4 centred = wasm_f32x4_sub(f4_load(x + c), f4_load(mean + c));
      f4_store(out + c, f4_madd(f4_load(offset + c), centred, f4_load(factor + c)));
    }
    for (; c < channels; c++) out[c] = (x[c] - mean[c]) * factor[c] + offset[c];
  }
}

static void grad_sums_chunk(const float *x, const float *dy, const float *mean, float *sum_dy, float *sum_dy_xc,
                            size_t rows, size_t channels) {
  size_t c = 0;
  for (; c + 8 <= channels; c += 8) {
    f4 s0 = wasm_f32x4_splat(0.0f), s1 = s0, p0 = s0, p1 = s0;
    const f4 m0 = f4_load(mean + c), m1 = f4_load(mean + c + 4);
    const float *xp = x + c, *dp = dy + c;
    for (size_t r = 0; r < rows; r++, xp += channels, dp += channels) {
      const f4 d0 = f4_load(dp), d1 = f4_load(dp + 4);
      s0 = wasm_f32x4_add(s0, d0);
      s1 = wasm_f32x4_add(s1, d1);
      p0 = f4_madd(p0, d0, wasm_f32x4_sub(f4_load(xp), m0));
      p1 = f4_madd(p1, d1, wasm_f32x4_sub(f4_load(xp + 4), m1));
    }
    f4_accumulate(sum_dy + c, s0); f4_accumulate(sum_dy + c + 4, s1);
    f4_accumulate(sum_dy_xc + c, p0); f4_accumulate(sum_dy_xc + c + 4, p1);
  }
  for (; c < channels; c++) {
    float s = 0.0f, p = 0.0f;
    for (size_t r = 0; r < rows; r++) {
      const float d = dy[r * channels + c];
      s += d;
      p += d * (x[r * channels + c] - mean[c]);
    }
    sum_dy[c] += s;
    sum_dy_xc[c] += p;
  }
}

// out[0..C) = sum over rows of dy, out[C..2C) = sum over rows of dy * (x - mean); chunked
// partial sums keep the float32 rounding error small.
EXPORT(batch_norm_grad_sums)(const float *x, const float *dy, const float *mean, float *out, size_t rows,
                             size_t channels) {
  fill_zero(out, 2 * channels);
  for (size_t start = 0; start < rows; start += CHUNK_ROWS) {
    grad_sums_chunk(x + start * channels, dy + start * channels, mean, out, out + channels,
                    min_size(CHUNK_ROWS, rows - start), channels);
  }
}
