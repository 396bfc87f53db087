// Shared helpers for the training kernels. The module is linked against the
// TensorFlow.js wasm heap (imported memory), so it must own no static data:
// every pointer it sees belongs to a tensor or to scratch the caller allocated.
#ifndef CHARID_KERNELS_H
#define CHARID_KERNELS_H

#include <stddef.h> // clang's own freestanding header: size_t
#include <wasm_simd128.h>

// Sizes, counts and flat offsets are size_t, unsigned: wasm32 addresses are unsigned and the
// heap may grow to 4 GiB, so a tensor or an offset into one may lie past 2^31 bytes (JS passes
// such pointers as numbers, which the i32 parameters receive bit for bit). Only positions that
// can fall on padding (ih, iw, pad offsets and the arithmetic below) are signed int; they are
// checked against 0 before they index anything.

#define EXPORT(name) __attribute__((export_name(#name))) void name

typedef v128_t f4;

static inline f4 f4_load(const float *p) { return wasm_v128_load(p); }
static inline void f4_store(float *p, f4 v) { wasm_v128_store(p, v); }
static inline f4 f4_splat(const float *p) { return wasm_v128_load32_splat(p); }
// acc + a * b. The relaxed variant (built with -mrelaxed-simd) lets the engine fuse it into one
// FMA where the CPU has one: one rounding instead of two, so results differ in the last bits.
#ifdef __wasm_relaxed_simd__
// clang 16's wasm_simd128.h has no wasm_f32x4_relaxed_madd yet; its builtin emits f32x4.relaxed_madd,
// which an engine computes as operand 1 * operand 2 + operand 3.
typedef float f32x4_t __attribute__((__vector_size__(16), __aligned__(16)));
static inline f4 f4_madd(f4 acc, f4 a, f4 b) {
  return (f4)__builtin_wasm_relaxed_madd_f32x4((f32x4_t)a, (f32x4_t)b, (f32x4_t)acc);
}
#else
static inline f4 f4_madd(f4 acc, f4 a, f4 b) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }
#endif
static inline void f4_accumulate(float *p, f4 v) { f4_store(p, wasm_f32x4_add(f4_load(p), v)); }

static inline int ceil_div(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
static inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static inline int max_int(int a, int b) { return a > b ? a : b; }
static inline int min_int(int a, int b) { return a < b ? a : b; }
static inline size_t max_size(size_t a, size_t b) { return a > b ? a : b; }
static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

// Whether position i, perhaps on padding, lies inside [0, size).
static inline int inside(int i, size_t size) { return i >= 0 && (size_t)i < size; }

static inline void fill_zero(float *p, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) f4_store(p + i, wasm_f32x4_splat(0.0f));
  for (; i < n; i++) p[i] = 0.0f;
}

// Output positions o in [*lo, *hi) whose input position o * stride + offset lies in [0, size);
// 0 <= *lo <= *hi <= out_size, *lo == *hi when there are none.
static inline void valid_range(int offset, int stride, int size, int out_size, size_t *lo, size_t *hi) {
  const int first = min_int(out_size, max_int(0, ceil_div(-offset, stride)));
  const int end = min_int(out_size, floor_div(size - 1 - offset, stride) + 1);
  *lo = (size_t)first;
  *hi = (size_t)max_int(first, end);
}

#endif
