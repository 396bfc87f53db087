// out[c] = sum over r of x[r * cols + c]: Sum/Mean over leading axes (batch-norm statistics
// and gradients) without the transpose the stock wasm kernels do first. Rows are summed in
// chunks whose partial sums are then added, which keeps float32 rounding error small.
#include "kernels.h"

#define CHUNK_ROWS 64

static void sum_columns_chunk(const float *x, size_t rows, size_t cols, float *out) {
  size_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    f4 a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    const float *p = x + c;
    for (size_t r = 0; r < rows; r++, p += cols) {
      a0 = wasm_f32x4_add(a0, f4_load(p));
      a1 = wasm_f32x4_add(a1, f4_load(p + 4));
      a2 = wasm_f32x4_add(a2, f4_load(p + 8));
      a3 = wasm_f32x4_add(a3, f4_load(p + 12));
    }
    f4_accumulate(out + c, a0); f4_accumulate(out + c + 4, a1);
    f4_accumulate(out + c + 8, a2); f4_accumulate(out + c + 12, a3);
  }
  for (; c + 4 <= cols; c += 4) {
    f4 a = wasm_f32x4_splat(0.0f);
    const float *p = x + c;
    for (size_t r = 0; r < rows; r++, p += cols) a = wasm_f32x4_add(a, f4_load(p));
    f4_accumulate(out + c, a);
  }
  for (; c < cols; c++) {
    float a = 0.0f;
    for (size_t r = 0; r < rows; r++) a += x[r * cols + c];
    out[c] += a;
  }
}

EXPORT(sum_leading_axes)(const float *x, float *out, size_t rows, size_t cols, float scale) {
  fill_zero(out, cols);
  for (size_t start = 0; start < rows; start += CHUNK_ROWS) {
    sum_columns_chunk(x + start * cols, min_size(CHUNK_ROWS, rows - start), cols, out);
  }
  if (scale != 1.0f) {
    for (size_t c = 0; c < cols; c++) out[c] *= scale;
  }
}
