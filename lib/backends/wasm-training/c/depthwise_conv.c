// 3x3 depthwise convolution forward, NHWC, channel multiplier 1, with bias and a clamp
// (linear, ReLU or ReLU6) fused: the inference hot spot of MobileNet-style nets. For each
// output row and each group of 4 channels the 9 taps stay in registers while the row is
// swept, so every output costs 9 input loads. Rows of the filter that fall on padding get zero
// weights (and read a valid row), and only the border columns check bounds.
#include "kernels.h"

static inline f4 clamp(f4 v, f4 lo, f4 hi) { return wasm_f32x4_pmin(hi, wasm_f32x4_pmax(lo, v)); }

// One output of a column whose window crosses the left or right edge.
static inline __attribute__((always_inline)) void border_output(const float *const rows[3], const f4 taps[9], f4 b, f4 lo, f4 hi, float *out_row, int ow,
                          int stride_w, int pad_left, int in_w, int channels, int c) {
  const int iw = ow * stride_w - pad_left;
  f4 acc = b;
  for (int j = 0; j < 3; j++) {
    const int col = iw + j;
    if (col < 0 || col >= in_w) continue;
    const float *p = rows[0] + col * channels + c;
    acc = f4_madd(acc, f4_load(p), taps[j]);
    acc = f4_madd(acc, f4_load(rows[1] + col * channels + c), taps[3 + j]);
    acc = f4_madd(acc, f4_load(rows[2] + col * channels + c), taps[6 + j]);
  }
  f4_store(out_row + ow * channels + c, clamp(acc, lo, hi));
}

EXPORT(depthwise3x3_f32)(const float *x, const float *w, const float *bias, float *out, int batch, int in_h,
                         int in_w, int channels, int out_h, int out_w, int stride_h, int stride_w, int pad_top,
                         int pad_left, float min_value, float max_value) {
  const f4 lo = wasm_f32x4_splat(min_value), hi = wasm_f32x4_splat(max_value), zero = wasm_f32x4_splat(0.0f);
  const int row_step = in_w * channels;
  int ow_lo, ow_hi; // outputs whose three columns all lie inside the image
  valid_range(-pad_left, stride_w, in_w - 2, out_w, &ow_lo, &ow_hi);
  if (ow_hi < ow_lo) ow_hi = ow_lo;
  for (int n = 0; n < batch; n++) {
    const float *image = x + (long)n * in_h * row_step;
    for (int oh = 0; oh < out_h; oh++) {
      const float *rows[3];
      int row_ok[3];
      for (int k = 0; k < 3; k++) {
        const int ih = oh * stride_h - pad_top + k;
        row_ok[k] = ih >= 0 && ih < in_h;
        rows[k] = image + (long)(row_ok[k] ? ih : 0) * row_step;
      }
      float *out_row = out + ((long)n * out_h + oh) * out_w * channels;
      for (int c = 0; c + 4 <= channels; c += 4) {
        f4 taps[9];
        for (int k = 0; k < 9; k++) taps[k] = row_ok[k / 3] ? f4_load(w + k * channels + c) : zero;
        const f4 b = bias ? f4_load(bias + c) : zero;
        for (int ow = 0; ow < ow_lo; ow++) border_output(rows, taps, b, lo, hi, out_row, ow, stride_w, pad_left, in_w, channels, c);
        for (int ow = ow_lo; ow < ow_hi; ow++) {
          const int offset = (ow * stride_w - pad_left) * channels + c;
          f4 acc = b;
          for (int k = 0; k < 3; k++) {
            const float *p = rows[k] + offset;
            acc = f4_madd(acc, f4_load(p), taps[3 * k]);
            acc = f4_madd(acc, f4_load(p + channels), taps[3 * k + 1]);
            acc = f4_madd(acc, f4_load(p + 2 * channels), taps[3 * k + 2]);
          }
          f4_store(out_row + ow * channels + c, clamp(acc, lo, hi));
        }
        for (int ow = ow_hi; ow < out_w; ow++) border_output(rows, taps, b, lo, hi, out_row, ow, stride_w, pad_left, in_w, channels, c);
      }
    }
  }
}
