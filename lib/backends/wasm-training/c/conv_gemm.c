// Convolutions as matrix products, NHWC: out[M][N] = clamp(a[M][K] * w[K][N] + bias[N]) with M =
// batch * height * width output pixels, N output channels (a multiple of 4) and a = x itself for a
// 1x1, stride-1 convolution (K input channels; the bulk of MobileNet's multiply-adds), else the
// im2col matrix of x (K = filter taps * channels), gathered block by block. The filter is first packed into
// panels of 8 columns ([N/8][K][8]) so that a 4x8 tile of the output reads its weights
// contiguously; the tile's 8 accumulators stay in registers over a block of KC input channels,
// and MC rows of x (MC x KC floats) are swept per panel while they sit in L2.
#include "kernels.h"

#define KC 256
#define MC 64

static inline f4 clamp4(f4 v, f4 lo, f4 hi) { return wasm_f32x4_pmin(hi, wasm_f32x4_pmax(lo, v)); }

// The start value of accumulator (row r, 4 columns at c): the bias, or what earlier blocks of K left.
#define INIT(r, c) (first ? (bias ? f4_load(bias + (c)) : wasm_f32x4_splat(0.0f)) : f4_load(out + (r) * N + (c)))
#define STORE(r, c, v) f4_store(out + (r) * N + (c), last ? clamp4(v, lo, hi) : (v))

// Rows [0, 4) x columns [0, 8) of `out`, over channels [k0, k0 + kc).
static void tile_4x8(const float *a, size_t lda, const float *p, float *out, size_t N, const float *bias, size_t kc,
                     int first, int last, f4 lo, f4 hi) {
  f4 c00 = INIT(0, 0), c01 = INIT(0, 4), c10 = INIT(1, 0), c11 = INIT(1, 4);
  f4 c20 = INIT(2, 0), c21 = INIT(2, 4), c30 = INIT(3, 0), c31 = INIT(3, 4);
  const float *x0 = a, *x1 = x0 + lda, *x2 = x1 + lda, *x3 = x2 + lda;
  for (size_t k = 0; k < kc; k++, p += 8) {
    const f4 b0 = f4_load(p), b1 = f4_load(p + 4);
    f4 a = f4_splat(x0 + k);
    c00 = f4_madd(c00, a, b0); c01 = f4_madd(c01, a, b1);
    a = f4_splat(x1 + k);
    c10 = f4_madd(c10, a, b0); c11 = f4_madd(c11, a, b1);
    a = f4_splat(x2 + k);
    c20 = f4_madd(c20, a, b0); c21 = f4_madd(c21, a, b1);
    a = f4_splat(x3 + k);
    c30 = f4_madd(c30, a, b0); c31 = f4_madd(c31, a, b1);
  }
  STORE(0, 0, c00); STORE(0, 4, c01); STORE(1, 0, c10); STORE(1, 4, c11);
  STORE(2, 0, c20); STORE(2, 4, c21); STORE(3, 0, c30); STORE(3, 4, c31);
}

// Rows [0, 4) x columns [0, 4): the last, half panel when N is not a multiple of 8.
static void tile_4x4(const float *a, size_t lda, const float *p, float *out, size_t N, const float *bias, size_t kc,
                     int first, int last, f4 lo, f4 hi) {
  f4 c0 = INIT(0, 0), c1 = INIT(1, 0), c2 = INIT(2, 0), c3 = INIT(3, 0);
  const float *x0 = a, *x1 = x0 + lda, *x2 = x1 + lda, *x3 = x2 + lda;
  for (size_t k = 0; k < kc; k++, p += 8) {
    const f4 b = f4_load(p);
    c0 = f4_madd(c0, f4_splat(x0 + k), b);
    c1 = f4_madd(c1, f4_splat(x1 + k), b);
    c2 = f4_madd(c2, f4_splat(x2 + k), b);
    c3 = f4_madd(c3, f4_splat(x3 + k), b);
  }
  STORE(0, 0, c0); STORE(1, 0, c1); STORE(2, 0, c2); STORE(3, 0, c3);
}

// One row x columns [0, 8), or [0, 4) when `half`: the rows left over after the tiles of 4.
static void tile_1x8(const float *a, const float *p, float *out, size_t N, const float *bias, size_t kc, int half,
                     int first, int last, f4 lo, f4 hi) {
  f4 c0 = INIT(0, 0), c1 = half ? wasm_f32x4_splat(0.0f) : INIT(0, 4);
  const float *x0 = a;
  for (size_t k = 0; k < kc; k++, p += 8) {
    const f4 a = f4_splat(x0 + k);
    c0 = f4_madd(c0, a, f4_load(p));
    c1 = f4_madd(c1, a, f4_load(p + 4));
  }
  STORE(0, 0, c0);
  if (!half) STORE(0, 4, c1);
}

// Panel j holds columns [8j, 8j + 8) of w, row after row; a last panel of 4 columns is zero-padded.
static void pack_panels(const float *w, float *packed, size_t K, size_t N) {
  for (size_t n = 0; n < N; n += 8) {
    float *panel = packed + n * K;
    const int half = N - n < 8;
    for (size_t k = 0; k < K; k++) {
      f4_store(panel + 8 * k, f4_load(w + k * N + n));
      f4_store(panel + 8 * k + 4, half ? wasm_f32x4_splat(0.0f) : f4_load(w + k * N + n + 4));
    }
  }
}

// out rows [m0, m_end) += a[m - m0][0, kc) * w[k0, k0 + kc)[all N], a with row stride lda.
static void sweep(const float *a, size_t lda, const float *packed, size_t K, float *out, size_t N, const float *bias,
                  size_t m0, size_t m_end, size_t k0, size_t kc, f4 lo, f4 hi) {
  const int first = k0 == 0, last = k0 + kc == K;
  for (size_t n = 0; n < N; n += 8) {
    const int half = N - n < 8;
    const float *p = packed + n * K + k0 * 8;
    const float *b = bias ? bias + n : 0;
    float *o = out + n;
    size_t m = m0;
    for (; m + 4 <= m_end; m += 4) {
      const float *row = a + (m - m0) * lda;
      if (half) tile_4x4(row, lda, p, o + m * N, N, b, kc, first, last, lo, hi);
      else tile_4x8(row, lda, p, o + m * N, N, b, kc, first, last, lo, hi);
    }
    for (; m < m_end; m++) tile_1x8(a + (m - m0) * lda, p, o + m * N, N, b, kc, half, first, last, lo, hi);
  }
}

// 1x1, stride 1: x is already the M x K matrix. `packed` is scratch of K * round_up(N, 8) floats;
// `bias` may be 0 (none).
EXPORT(pointwise_conv_f32)(const float *x, const float *w, const float *bias, float *packed, float *out, size_t M,
                           size_t K, size_t N, float min_value, float max_value) {
  const f4 lo = wasm_f32x4_splat(min_value), hi = wasm_f32x4_splat(max_value);
  pack_panels(w, packed, K, N);
  for (size_t k0 = 0; k0 < K; k0 += KC) {
    const size_t kc = min_size(KC, K - k0);
    for (size_t m0 = 0; m0 < M; m0 += MC) sweep(x + m0 * K + k0, K, packed, K, out, N, bias, m0, min_size(M, m0 + MC), k0, kc, lo, hi);
  }
}

typedef struct {
  size_t batch, in_h, in_w, channels, out_h, out_w, filter_h, filter_w, stride_h, stride_w, dilation_h, dilation_w;
  int pad_top, pad_left;
} ConvShape;

// Rows [m0, m_end) of the im2col matrix, columns [k0, k0 + kc), into a (row stride kc): column
// k is filter tap k / channels, channel k % channels; taps over padding read zeros.
static void gather_rows(const float *x, const ConvShape *s, float *a, size_t m0, size_t m_end, size_t k0, size_t kc) {
  const size_t C = s->channels;
  for (size_t m = m0; m < m_end; m++, a += kc) {
    const size_t ow = m % s->out_w, oh = (m / s->out_w) % s->out_h, n = m / (s->out_w * s->out_h);
    size_t k = k0;
    while (k < k0 + kc) {
      const size_t tap = k / C, c = k % C;
      const size_t run = min_size(C - c, k0 + kc - k); // channels of this tap inside the block
      const int iy = (int)(oh * s->stride_h + (tap / s->filter_w) * s->dilation_h) - s->pad_top;
      const int ix = (int)(ow * s->stride_w + (tap % s->filter_w) * s->dilation_w) - s->pad_left;
      float *dst = a + (k - k0);
      if (!inside(iy, s->in_h) || !inside(ix, s->in_w)) {
        fill_zero(dst, run);
      } else {
        const float *src = x + ((n * s->in_h + (size_t)iy) * s->in_w + (size_t)ix) * C + c;
        size_t i = 0;
        for (; i + 4 <= run; i += 4) f4_store(dst + i, f4_load(src + i));
        for (; i < run; i++) dst[i] = src[i];
      }
      k += run;
    }
  }
}

// Any 2-D convolution, NHWC, filter [fh][fw][C][N]: the matrix product of im2col(x) (M x fh*fw*C,
// gathered MC x KC at a time into `rows`, scratch of MC * KC floats) and the filter.
EXPORT(conv_gemm_f32)(const float *x, const float *w, const float *bias, float *packed, float *rows, float *out,
                      size_t batch, size_t in_h, size_t in_w, size_t channels, size_t out_h, size_t out_w, size_t N,
                      size_t filter_h, size_t filter_w, size_t stride_h, size_t stride_w, size_t dilation_h,
                      size_t dilation_w, int pad_top, int pad_left, float min_value, float max_value) {
  const ConvShape s = {batch,    in_h,     in_w,       channels,   out_h,   out_w,   filter_h,
                       filter_w, stride_h, stride_w,   dilation_h, dilation_w, pad_top, pad_left};
  const f4 lo = wasm_f32x4_splat(min_value), hi = wasm_f32x4_splat(max_value);
  const size_t M = batch * out_h * out_w, K = filter_h * filter_w * channels;
  pack_panels(w, packed, K, N);
  for (size_t k0 = 0; k0 < K; k0 += KC) {
    const size_t kc = min_size(KC, K - k0);
    for (size_t m0 = 0; m0 < M; m0 += MC) {
      const size_t m_end = min_size(M, m0 + MC);
      gather_rows(x, &s, rows, m0, m_end, k0, kc);
      sweep(rows, kc, packed, K, out, N, bias, m0, m_end, k0, kc, lo, hi);
    }
  }
}

// Rows [m0, m_end) of the whole im2col matrix (K = filter_h * filter_w * channels columns) into `a`,
// for a product computed elsewhere (BLAS, lib/backends/blas.ts).
EXPORT(im2col_rows_f32)(const float *x, float *a, size_t m0, size_t m_end, size_t batch, size_t in_h, size_t in_w,
                        size_t channels, size_t out_h, size_t out_w, size_t filter_h, size_t filter_w, size_t stride_h,
                        size_t stride_w, size_t dilation_h, size_t dilation_w, int pad_top, int pad_left) {
  const ConvShape s = {batch,    in_h,     in_w,       channels,   out_h,   out_w,   filter_h,
                       filter_w, stride_h, stride_w,   dilation_h, dilation_w, pad_top, pad_left};
  const size_t K = filter_h * filter_w * channels;
  gather_rows(x, &s, a, m0, m_end, 0, K);
}

// out[M][N] = clamp(out + bias), bias 0 for none: the epilogue of a product computed elsewhere.
EXPORT(bias_clamp_f32)(float *out, const float *bias, size_t M, size_t N, float min_value, float max_value) {
  const f4 lo = wasm_f32x4_splat(min_value), hi = wasm_f32x4_splat(max_value);
  for (size_t m = 0; m < M; m++, out += N) {
    size_t n = 0;
    for (; n + 4 <= N; n += 4) {
      const f4 v = bias ? wasm_f32x4_add(f4_load(out + n), f4_load(bias + n)) : f4_load(out + n);
      f4_store(out + n, clamp4(v, lo, hi));
    }
    for (; n < N; n++) {
      const float v = out[n] + (bias ? bias[n] : 0.0f);
      out[n] = v < min_value ? min_value : v > max_value ? max_value : v;
    }
  }
}
