// 1x1 convolution, stride 1, NHWC: out[M][N] = clamp(x[M][K] * w[K][N] + bias[N]) with M = batch
// * height * width pixels, K input and N output channels (N a multiple of 4) - a matrix product,
// the bulk of MobileNet's and half of ResNet's multiply-adds. The filter is first packed into
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
static void tile_4x8(const float *x, int K, const float *panel, float *out, int N, const float *bias, int k0, int kc,
                     int first, int last, f4 lo, f4 hi) {
  f4 c00 = INIT(0, 0), c01 = INIT(0, 4), c10 = INIT(1, 0), c11 = INIT(1, 4);
  f4 c20 = INIT(2, 0), c21 = INIT(2, 4), c30 = INIT(3, 0), c31 = INIT(3, 4);
  const float *p = panel + k0 * 8;
  const float *x0 = x + k0, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
  for (int k = 0; k < kc; k++, p += 8) {
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
static void tile_4x4(const float *x, int K, const float *panel, float *out, int N, const float *bias, int k0, int kc,
                     int first, int last, f4 lo, f4 hi) {
  f4 c0 = INIT(0, 0), c1 = INIT(1, 0), c2 = INIT(2, 0), c3 = INIT(3, 0);
  const float *p = panel + k0 * 8;
  const float *x0 = x + k0, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
  for (int k = 0; k < kc; k++, p += 8) {
    const f4 b = f4_load(p);
    c0 = f4_madd(c0, f4_splat(x0 + k), b);
    c1 = f4_madd(c1, f4_splat(x1 + k), b);
    c2 = f4_madd(c2, f4_splat(x2 + k), b);
    c3 = f4_madd(c3, f4_splat(x3 + k), b);
  }
  STORE(0, 0, c0); STORE(1, 0, c1); STORE(2, 0, c2); STORE(3, 0, c3);
}

// One row x columns [0, 8), or [0, 4) when `half`: the rows left over after the tiles of 4.
static void tile_1x8(const float *x, const float *panel, float *out, int N, const float *bias, int k0, int kc,
                     int half, int first, int last, f4 lo, f4 hi) {
  f4 c0 = INIT(0, 0), c1 = half ? wasm_f32x4_splat(0.0f) : INIT(0, 4);
  const float *p = panel + k0 * 8;
  const float *x0 = x + k0;
  for (int k = 0; k < kc; k++, p += 8) {
    const f4 a = f4_splat(x0 + k);
    c0 = f4_madd(c0, a, f4_load(p));
    c1 = f4_madd(c1, a, f4_load(p + 4));
  }
  STORE(0, 0, c0);
  if (!half) STORE(0, 4, c1);
}

// Panel j holds columns [8j, 8j + 8) of w, row after row; a last panel of 4 columns is zero-padded.
static void pack_panels(const float *w, float *packed, int K, int N) {
  for (int n = 0; n < N; n += 8) {
    float *panel = packed + n * K;
    const int half = N - n < 8;
    for (int k = 0; k < K; k++) {
      f4_store(panel + 8 * k, f4_load(w + k * N + n));
      f4_store(panel + 8 * k + 4, half ? wasm_f32x4_splat(0.0f) : f4_load(w + k * N + n + 4));
    }
  }
}

// `packed` is scratch of K * round_up(N, 8) floats; `bias` may be 0 (none).
EXPORT(pointwise_conv_f32)(const float *x, const float *w, const float *bias, float *packed, float *out, int M, int K,
                           int N, float min_value, float max_value) {
  const f4 lo = wasm_f32x4_splat(min_value), hi = wasm_f32x4_splat(max_value);
  pack_panels(w, packed, K, N);
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = min_int(KC, K - k0);
    const int first = k0 == 0, last = k0 + kc == K;
    for (int m0 = 0; m0 < M; m0 += MC) {
      const int m_end = min_int(M, m0 + MC);
      for (int n = 0; n < N; n += 8) {
        const int half = N - n < 8;
        const float *panel = packed + n * K;
        const float *b = bias ? bias + n : 0;
        int m = m0;
        for (; m + 4 <= m_end; m += 4) {
          if (half) tile_4x4(x + m * K, K, panel, out + m * N + n, N, b, k0, kc, first, last, lo, hi);
          else tile_4x8(x + m * K, K, panel, out + m * N + n, N, b, k0, kc, first, last, lo, hi);
        }
        for (; m < m_end; m++) tile_1x8(x + m * K, panel, out + m * N + n, N, b, k0, kc, half, first, last, lo, hi);
      }
    }
  }
}
