// Conv2DBackpropFilter, NHWC: dw[kh][kw][ci][co] = sum over (n, oh, ow) of
// x[n][oh*sh + kh*dh - pt][ow*sw + kw*dw - pl][ci] * dy[n][oh][ow][co].
// For one filter tap and one output row this is dw_tap += X^T * DY over a strided
// run of rows, computed by register-blocked tiles of 4 input x 8 output channels.
#include "kernels.h"

static void tile_4x8(const float *x, size_t xs, const float *dy, size_t ys, size_t rows, float *dw, size_t ldw) {
  f4 a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00;
  f4 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  for (size_t r = 0; r < rows; r++, x += xs, dy += ys) {
    const f4 d0 = f4_load(dy), d1 = f4_load(dy + 4);
    const f4 x0 = f4_splat(x), x1 = f4_splat(x + 1), x2 = f4_splat(x + 2), x3 = f4_splat(x + 3);
    a00 = f4_madd(a00, x0, d0); a01 = f4_madd(a01, x0, d1);
    a10 = f4_madd(a10, x1, d0); a11 = f4_madd(a11, x1, d1);
    a20 = f4_madd(a20, x2, d0); a21 = f4_madd(a21, x2, d1);
    a30 = f4_madd(a30, x3, d0); a31 = f4_madd(a31, x3, d1);
  }
  f4_accumulate(dw, a00); f4_accumulate(dw + 4, a01);
  f4_accumulate(dw + ldw, a10); f4_accumulate(dw + ldw + 4, a11);
  f4_accumulate(dw + 2 * ldw, a20); f4_accumulate(dw + 2 * ldw + 4, a21);
  f4_accumulate(dw + 3 * ldw, a30); f4_accumulate(dw + 3 * ldw + 4, a31);
}

static void tile_1x8(const float *x, size_t xs, const float *dy, size_t ys, size_t rows, float *dw) {
  f4 a0 = wasm_f32x4_splat(0.0f), a1 = a0, b0 = a0, b1 = a0;
  size_t r = 0;
  for (; r + 2 <= rows; r += 2, x += 2 * xs, dy += 2 * ys) {
    const f4 x0 = f4_splat(x), x1 = f4_splat(x + xs);
    a0 = f4_madd(a0, x0, f4_load(dy)); a1 = f4_madd(a1, x0, f4_load(dy + 4));
    b0 = f4_madd(b0, x1, f4_load(dy + ys)); b1 = f4_madd(b1, x1, f4_load(dy + ys + 4));
  }
  if (r < rows) {
    const f4 x0 = f4_splat(x);
    a0 = f4_madd(a0, x0, f4_load(dy)); a1 = f4_madd(a1, x0, f4_load(dy + 4));
  }
  f4_accumulate(dw, wasm_f32x4_add(a0, b0)); f4_accumulate(dw + 4, wasm_f32x4_add(a1, b1));
}

static void tile_1x4(const float *x, size_t xs, const float *dy, size_t ys, size_t rows, float *dw) {
  f4 a = wasm_f32x4_splat(0.0f), b = a;
  size_t r = 0;
  for (; r + 2 <= rows; r += 2, x += 2 * xs, dy += 2 * ys) {
    a = f4_madd(a, f4_splat(x), f4_load(dy));
    b = f4_madd(b, f4_splat(x + xs), f4_load(dy + ys));
  }
  if (r < rows) a = f4_madd(a, f4_splat(x), f4_load(dy));
  f4_accumulate(dw, wasm_f32x4_add(a, b));
}

static void tile_1x1(const float *x, size_t xs, const float *dy, size_t ys, size_t rows, float *dw) {
  float sum = 0.0f;
  for (size_t r = 0; r < rows; r++) sum += x[r * xs] * dy[r * ys];
  *dw += sum;
}

// dw[ci * cout + co] += sum_r x[r * xs + ci] * dy[r * ys + co]. Output channels are the
// outer loop so the few dy lines of one tile stay in L1 while x streams.
static void accumulate_xt_dy(const float *x, size_t xs, const float *dy, size_t ys, size_t rows, float *dw, size_t cin,
                             size_t cout) {
  size_t co = 0;
  for (; co + 8 <= cout; co += 8) {
    size_t ci = 0;
    for (; ci + 4 <= cin; ci += 4) tile_4x8(x + ci, xs, dy + co, ys, rows, dw + ci * cout + co, cout);
    for (; ci < cin; ci++) tile_1x8(x + ci, xs, dy + co, ys, rows, dw + ci * cout + co);
  }
  for (; co + 4 <= cout; co += 4) {
    for (size_t ci = 0; ci < cin; ci++) tile_1x4(x + ci, xs, dy + co, ys, rows, dw + ci * cout + co);
  }
  for (; co < cout; co++) {
    for (size_t ci = 0; ci < cin; ci++) tile_1x1(x + ci, xs, dy + co, ys, rows, dw + ci * cout + co);
  }
}

// Rows per block when x and dy are plain matrices: keeps a block of x within L2.
static size_t block_rows(size_t cin) { return max_size(64, min_size(1024, 65536 / cin)); }

EXPORT(conv2d_filter_grad)(const float *x, const float *dy, float *dw, size_t batch, size_t in_h, size_t in_w,
                           size_t cin, size_t out_h, size_t out_w, size_t cout, size_t filter_h, size_t filter_w,
                           size_t stride_h, size_t stride_w, int pad_top, int pad_left) {
  fill_zero(dw, filter_h * filter_w * cin * cout);
  const int pointwise = filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
                        pad_left == 0 && out_h == in_h && out_w == in_w;
  if (pointwise) {
    const size_t total = batch * in_h * in_w, block = block_rows(cin);
    for (size_t start = 0; start < total; start += block) {
      accumulate_xt_dy(x + start * cin, cin, dy + start * cout, cout, min_size(block, total - start), dw, cin, cout);
    }
    return;
  }
  for (size_t n = 0; n < batch; n++) {
    for (size_t oh = 0; oh < out_h; oh++) {
      const float *dy_row = dy + (n * out_h + oh) * out_w * cout;
      for (size_t kh = 0; kh < filter_h; kh++) {
        const int ih = (int)(oh * stride_h + kh) - pad_top;
        if (!inside(ih, in_h)) continue;
        const float *x_row = x + (n * in_h + (size_t)ih) * in_w * cin;
        for (size_t kw = 0; kw < filter_w; kw++) {
          const int shift = (int)kw - pad_left;
          size_t lo, hi;
          valid_range(shift, stride_w, in_w, out_w, &lo, &hi);
          if (lo >= hi) continue;
          const int iw = (int)(lo * stride_w) + shift; // >= 0: output column lo reads inside the image
          accumulate_xt_dy(x_row + (size_t)iw * cin, stride_w * cin, dy_row + lo * cout, cout, hi - lo,
                           dw + (kh * filter_w + kw) * cin * cout, cin, cout);
        }
      }
    }
  }
}
