// Add, Sub, Multiply and RealDiv over float32 with the broadcasts training uses: equal shapes,
// a scalar operand, and a per-channel vector against an NHWC tensor. Each operand is read at
// a[r * a_row_step + c * a_col_step], so a step of 0 repeats it. The stock kernels go through
// XNNPACK, whose per-call set-up dominates the thousands of small ops of an optimizer step.
#include "kernels.h"

enum BinaryOp { ADD = 0, SUB = 1, MUL = 2, DIV = 3 };

static inline f4 apply4(f4 x, f4 y, int op) {
  switch (op) {
    case ADD: return wasm_f32x4_add(x, y);
    case SUB: return wasm_f32x4_sub(x, y);
    case MUL: return wasm_f32x4_mul(x, y);
    default: return wasm_f32x4_div(x, y);
  }
}

static inline float apply1(float x, float y, int op) {
  switch (op) {
    case ADD: return x + y;
    case SUB: return x - y;
    case MUL: return x * y;
    default: return x / y;
  }
}

static inline void run(const float *a, size_t a_row_step, size_t a_col_step, const float *b, size_t b_row_step,
                       size_t b_col_step, float *out, size_t rows, size_t cols, int op) {
  for (size_t r = 0; r < rows; r++, a += a_row_step, b += b_row_step, out += cols) {
    size_t c = 0;
    for (; c + 4 <= cols; c += 4) {
      const f4 x = a_col_step ? f4_load(a + c) : f4_splat(a);
      const f4 y = b_col_step ? f4_load(b + c) : f4_splat(b);
      f4_store(out + c, apply4(x, y, op));
    }
    for (; c < cols; c++) out[c] = apply1(a[c * a_col_step], b[c * b_col_step], op);
  }
}

EXPORT(binary_f32)(const float *a, size_t a_row_step, size_t a_col_step, const float *b, size_t b_row_step,
                   size_t b_col_step, float *out, size_t rows, size_t cols, int op) {
  switch (op) {
    case ADD: run(a, a_row_step, a_col_step, b, b_row_step, b_col_step, out, rows, cols, ADD); break;
    case SUB: run(a, a_row_step, a_col_step, b, b_row_step, b_col_step, out, rows, cols, SUB); break;
    case MUL: run(a, a_row_step, a_col_step, b, b_row_step, b_col_step, out, rows, cols, MUL); break;
    default: run(a, a_row_step, a_col_step, b, b_row_step, b_col_step, out, rows, cols, DIV); break;
  }
}
