// Shared helpers for the training kernels. The module is linked against the
// TensorFlow.js wasm heap (imported memory), so it must own no static data:
// every pointer it sees belongs to a tensor or to scratch the caller allocated.
#ifndef CHARID_KERNELS_H
#define CHARID_KERNELS_H

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) void name

typedef v128_t f4;

static inline f4 f4_load(const float *p) { return wasm_v128_load(p); }
static inline void f4_store(float *p, f4 v) { wasm_v128_store(p, v); }
static inline f4 f4_splat(const float *p) { return wasm_v128_load32_splat(p); }
static inline f4 f4_madd(f4 acc, f4 a, f4 b) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }
static inline void f4_accumulate(float *p, f4 v) { f4_store(p, wasm_f32x4_add(f4_load(p), v)); }

static inline int ceil_div(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
static inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static inline int max_int(int a, int b) { return a > b ? a : b; }
static inline int min_int(int a, int b) { return a < b ? a : b; }

static inline void fill_zero(float *p, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) f4_store(p + i, wasm_f32x4_splat(0.0f));
  for (; i < n; i++) p[i] = 0.0f;
}

// Output positions o in [*lo, *hi) whose input position o * stride + offset lies in [0, size).
static inline void valid_range(int offset, int stride, int size, int out_size, int *lo, int *hi) {
  *lo = max_int(0, ceil_div(-offset, stride));
  *hi = min_int(out_size, floor_div(size - 1 - offset, stride) + 1);
}

#endif
