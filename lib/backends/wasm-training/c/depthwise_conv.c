// 3x3 depthwise convolution forward, NHWC, channel multiplier 1, with bias and a clamp
// (linear, ReLU or ReLU6) fused: the inference hot spot of MobileNet-style nets. For each
// output row and each group of 4 channels the 9 taps stay in registers while the row is
// swept, so every output costs 9 input loads. Rows of the filter that fall on padding get zero
// weights (and read a valid row), and only the border columns check bounds.
#include "kernels.h"

static inline f4 clamp(f4 v, f4 lo, f4 hi) { return wasm_f32x4_pmin(hi, wasm_f32x4_pmax(lo, v)); }

// One output of a column whose window crosses the left or right edge.
static inline __attribute__((always_inline)) void border_output(const float *const rows[3], const f4 taps[9], f4 b, f4 lo, f4 hi, float *out_row, size_t ow,
                          size_t stride_w, int pad_left, size_t in_w, size_t channels, size_t c) {
  const int iw = (int)(ow * stride_w) - pad_left;
  f4 acc = b;
  for (int j = 0; j < 3; j++) {
    const int col = iw + j;
    if (!inside(col, in_w)) continue;
    const size_t offset = (size_t)col * channels + c;
    acc = f4_madd(acc, f4_load(rows[0] + offset), taps[j]);
    acc = f4_madd(acc, f4_load(rows[1] + offset), taps[3 + j]);
    acc = f4_madd(acc, f4_load(rows[2] + offset), taps[6 + j]);
  }
  f4_store(out_row + ow * channels + c, clamp(acc, lo, hi));
}

EXPORT(depthwise3x3_f32)(const float *x, const float *w, const float *bias, float *out, size_t batch, size_t in_h,
                         size_t in_w, size_t channels, size_t out_h, size_t out_w, size_t stride_h, size_t stride_w,
                         int pad_top, int pad_left, float min_value, float max_value) {
  const f4 lo = wasm_f32x4_splat(min_value), hi = wasm_f32x4_splat(max_value), zero = wasm_f32x4_splat(0.0f);
  const size_t row_step = in_w * channels;
  size_t ow_lo, ow_hi; // outputs whose three columns all lie inside the image
  valid_range(-pad_left, stride_w, (int)in_w - 2, out_w, &ow_lo, &ow_hi);
  for (size_t n = 0; n < batch; n++) {
    const float *image = x + n * in_h * row_step;
    for (size_t oh = 0; oh < out_h; oh++) {
      const float *rows[3];
      int row_ok[3];
      for (int k = 0; k < 3; k++) {
        const int ih = (int)(oh * stride_h) - pad_top + k;
        row_ok[k] = inside(ih, in_h);
        rows[k] = image + (row_ok[k] ? (size_t)ih : 0) * row_step;
      }
      float *out_row = out + (n * out_h + oh) * out_w * channels;
      for (size_t c = 0; c + 4 <= channels; c += 4) {
        f4 taps[9];
        for (int k = 0; k < 9; k++) taps[k] = row_ok[k / 3] ? f4_load(w + k * channels + c) : zero;
        const f4 b = bias ? f4_load(bias + c) : zero;
        for (size_t ow = 0; ow < ow_lo; ow++) border_output(rows, taps, b, lo, hi, out_row, ow, stride_w, pad_left, in_w, channels, c);
        for (size_t ow = ow_lo; ow < ow_hi; ow++) {
          const int iw = (int)(ow * stride_w) - pad_left; // >= 0, as ow >= ow_lo
          const size_t offset = (size_t)iw * channels + c;
          f4 acc = b;
          for (int k = 0; k < 3; k++) {
            const float *p = rows[k] + offset;
            acc = f4_madd(acc, f4_load(p), taps[3 * k]);
            acc = f4_madd(acc, f4_load(p + channels), taps[3 * k + 1]);
            acc = f4_madd(acc, f4_load(p + 2 * channels), taps[3 * k + 2]);
          }
          f4_store(out_row + ow * channels + c, clamp(acc, lo, hi));
        }
        for (size_t ow = ow_hi; ow < out_w; ow++) border_output(rows, taps, b, lo, hi, out_row, ow, stride_w, pad_left, in_w, channels, c);
      }
    }
  }
}
