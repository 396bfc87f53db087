// Conv2DBackpropInput, NHWC: dx[n][oh*sh + kh - pt][ow*sw + kw - pl][ci] +=
// sum over co of dy[n][oh][ow][co] * w[kh][kw][ci][co]. For one filter tap and one output
// row this is dx_run += DY_run * W_tap^T, computed by register-blocked tiles of 4 pixels x 8
// input channels over a copy of the filter transposed to [tap][co][ci] (`wt`, caller's
// scratch). Fewer than 8 input channels (a network's first layer) use dot products over co.
#include "kernels.h"

static void tile_4x8(const float *dy, size_t ys, const float *wt, size_t cin, size_t cout, float *dx, size_t xs) {
  f4 a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00;
  f4 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  for (size_t co = 0; co < cout; co++, wt += cin) {
    const f4 w0 = f4_load(wt), w1 = f4_load(wt + 4);
    const f4 d0 = f4_splat(dy + co), d1 = f4_splat(dy + ys + co), d2 = f4_splat(dy + 2 * ys + co),
             d3 = f4_splat(dy + 3 * ys + co);
    a00 = f4_madd(a00, d0, w0); a01 = f4_madd(a01, d0, w1);
    a10 = f4_madd(a10, d1, w0); a11 = f4_madd(a11, d1, w1);
    a20 = f4_madd(a20, d2, w0); a21 = f4_madd(a21, d2, w1);
    a30 = f4_madd(a30, d3, w0); a31 = f4_madd(a31, d3, w1);
  }
  f4_accumulate(dx, a00); f4_accumulate(dx + 4, a01);
  f4_accumulate(dx + xs, a10); f4_accumulate(dx + xs + 4, a11);
  f4_accumulate(dx + 2 * xs, a20); f4_accumulate(dx + 2 * xs + 4, a21);
  f4_accumulate(dx + 3 * xs, a30); f4_accumulate(dx + 3 * xs + 4, a31);
}

static void tile_1x4(const float *dy, const float *wt, size_t cin, size_t cout, float *dx) {
  f4 a = wasm_f32x4_splat(0.0f), b = a;
  size_t co = 0;
  for (; co + 2 <= cout; co += 2, wt += 2 * cin) {
    a = f4_madd(a, f4_splat(dy + co), f4_load(wt));
    b = f4_madd(b, f4_splat(dy + co + 1), f4_load(wt + cin));
  }
  if (co < cout) a = f4_madd(a, f4_splat(dy + co), f4_load(wt));
  f4_accumulate(dx, wasm_f32x4_add(a, b));
}

static float dot(const float *a, const float *b, size_t n) {
  f4 acc = wasm_f32x4_splat(0.0f);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) acc = f4_madd(acc, f4_load(a + i), f4_load(b + i));
  float sum = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) + wasm_f32x4_extract_lane(acc, 2) +
              wasm_f32x4_extract_lane(acc, 3);
  for (; i < n; i++) sum += a[i] * b[i];
  return sum;
}

// dx[r * xs + ci] += sum_co dy[r * ys + co] * w[ci][co] for r < rows; wt is w transposed.
static void accumulate_dy_wt(const float *dy, size_t ys, const float *w, const float *wt, size_t rows, float *dx,
                             size_t xs, size_t cin, size_t cout) {
  size_t ci = 0;
  if (cin >= 8) {
    for (; ci + 8 <= cin; ci += 8) {
      size_t r = 0;
      for (; r + 4 <= rows; r += 4) tile_4x8(dy + r * ys, ys, wt + ci, cin, cout, dx + r * xs + ci, xs);
      for (; r < rows; r++) {
        tile_1x4(dy + r * ys, wt + ci, cin, cout, dx + r * xs + ci);
        tile_1x4(dy + r * ys, wt + ci + 4, cin, cout, dx + r * xs + ci + 4);
      }
    }
    for (; ci + 4 <= cin; ci += 4) {
      for (size_t r = 0; r < rows; r++) tile_1x4(dy + r * ys, wt + ci, cin, cout, dx + r * xs + ci);
    }
  }
  for (; ci < cin; ci++) {
    for (size_t r = 0; r < rows; r++) dx[r * xs + ci] += dot(dy + r * ys, w + ci * cout, cout);
  }
}

EXPORT(conv2d_input_grad)(const float *dy, const float *w, float *wt, float *dx, size_t batch, size_t in_h,
                          size_t in_w, size_t cin, size_t out_h, size_t out_w, size_t cout, size_t filter_h,
                          size_t filter_w, size_t stride_h, size_t stride_w, int pad_top, int pad_left) {
  const size_t taps = filter_h * filter_w, tap_size = cin * cout;
  for (size_t t = 0; t < taps; t++) {
    for (size_t ci = 0; ci < cin; ci++) {
      for (size_t co = 0; co < cout; co++) wt[t * tap_size + co * cin + ci] = w[t * tap_size + ci * cout + co];
    }
  }
  fill_zero(dx, batch * in_h * in_w * cin);
  for (size_t n = 0; n < batch; n++) {
    for (size_t oh = 0; oh < out_h; oh++) {
      const float *dy_row = dy + (n * out_h + oh) * out_w * cout;
      for (size_t kh = 0; kh < filter_h; kh++) {
        const int ih = (int)(oh * stride_h + kh) - pad_top;
        if (!inside(ih, in_h)) continue;
        float *dx_row = dx + (n * in_h + (size_t)ih) * in_w * cin;
        for (size_t kw = 0; kw < filter_w; kw++) {
          const int shift = (int)kw - pad_left;
          size_t lo, hi;
          valid_range(shift, stride_w, in_w, out_w, &lo, &hi);
          if (lo >= hi) continue;
          const int iw = (int)(lo * stride_w) + shift; // >= 0: output column lo reads inside the image
          const size_t tap = (kh * filter_w + kw) * tap_size;
          accumulate_dy_wt(dy_row + lo * cout, cout, w + tap, wt + tap, hi - lo, dx_row + (size_t)iw * cin,
                           stride_w * cin, cin, cout);
        }
      }
    }
  }
}
