// DepthwiseConv2dNativeBackpropFilter / BackpropInput, NHWC, filter [kh][kw][c][q] with
// output channel c * mult + q. Both walk (n, oh, filter tap) so the touched rows of
// x, dy and dx stay in cache; channel multiplier 1 (the common case) is vectorised.
#include "kernels.h"

typedef struct {
  size_t batch, in_h, in_w, channels, out_h, out_w, mult;
  size_t filter_h, filter_w, stride_h, stride_w, dilation_h, dilation_w;
  int pad_top, pad_left;
} DepthwiseShape;

// dw_tap[c] += sum over ow in [lo, hi) of x_row[iw(ow)][c] * dy_row[ow][c], for mult == 1.
static void filter_tap_row(const float *x, size_t xs, const float *dy, size_t count, float *dw, size_t channels) {
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    f4 a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    const float *xp = x + c, *dp = dy + c;
    for (size_t i = 0; i < count; i++, xp += xs, dp += channels) {
      a0 = f4_madd(a0, f4_load(xp), f4_load(dp));
      a1 = f4_madd(a1, f4_load(xp + 4), f4_load(dp + 4));
      a2 = f4_madd(a2, f4_load(xp + 8), f4_load(dp + 8));
      a3 = f4_madd(a3, f4_load(xp + 12), f4_load(dp + 12));
    }
    f4_accumulate(dw + c, a0); f4_accumulate(dw + c + 4, a1);
    f4_accumulate(dw + c + 8, a2); f4_accumulate(dw + c + 12, a3);
  }
  for (; c + 4 <= channels; c += 4) {
    f4 a = wasm_f32x4_splat(0.0f);
    const float *xp = x + c, *dp = dy + c;
    for (size_t i = 0; i < count; i++, xp += xs, dp += channels) a = f4_madd(a, f4_load(xp), f4_load(dp));
    f4_accumulate(dw + c, a);
  }
  for (; c < channels; c++) {
    float sum = 0.0f;
    for (size_t i = 0; i < count; i++) sum += x[i * xs + c] * dy[i * channels + c];
    dw[c] += sum;
  }
}

// dx_row[iw(ow)][c] += dy_row[ow][c] * w_tap[c] for ow in [lo, hi), for mult == 1.
static void input_tap_row(float *dx, size_t xs, const float *dy, size_t count, const float *w, size_t channels) {
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    const f4 w0 = f4_load(w + c), w1 = f4_load(w + c + 4), w2 = f4_load(w + c + 8), w3 = f4_load(w + c + 12);
    float *xp = dx + c;
    const float *dp = dy + c;
    for (size_t i = 0; i < count; i++, xp += xs, dp += channels) {
      f4_store(xp, f4_madd(f4_load(xp), f4_load(dp), w0));
      f4_store(xp + 4, f4_madd(f4_load(xp + 4), f4_load(dp + 4), w1));
      f4_store(xp + 8, f4_madd(f4_load(xp + 8), f4_load(dp + 8), w2));
      f4_store(xp + 12, f4_madd(f4_load(xp + 12), f4_load(dp + 12), w3));
    }
  }
  for (; c + 4 <= channels; c += 4) {
    const f4 wv = f4_load(w + c);
    float *xp = dx + c;
    const float *dp = dy + c;
    for (size_t i = 0; i < count; i++, xp += xs, dp += channels) f4_store(xp, f4_madd(f4_load(xp), f4_load(dp), wv));
  }
  for (; c < channels; c++) {
    for (size_t i = 0; i < count; i++) dx[i * xs + c] += dy[i * channels + c] * w[c];
  }
}

static void filter_tap_row_multiplied(const float *x, size_t xs, const float *dy, size_t count, float *dw,
                                      size_t channels, size_t mult) {
  const size_t cout = channels * mult;
  for (size_t i = 0; i < count; i++, x += xs, dy += cout) {
    for (size_t c = 0; c < channels; c++) {
      for (size_t q = 0; q < mult; q++) dw[c * mult + q] += x[c] * dy[c * mult + q];
    }
  }
}

static void input_tap_row_multiplied(float *dx, size_t xs, const float *dy, size_t count, const float *w,
                                     size_t channels, size_t mult) {
  const size_t cout = channels * mult;
  for (size_t i = 0; i < count; i++, dx += xs, dy += cout) {
    for (size_t c = 0; c < channels; c++) {
      float sum = 0.0f;
      for (size_t q = 0; q < mult; q++) sum += dy[c * mult + q] * w[c * mult + q];
      dx[c] += sum;
    }
  }
}

typedef struct {
  const float *a, *b;
  float *out;
} Operands;

// fn(s, ops, x_offset, dy_offset, count, tap) for every (n, oh, kh, kw) and the run of output
// columns [lo, lo + count) whose input columns lie inside the image; the x (or dx) run starts
// at x_offset and advances by stride_w pixels, the dy run at dy_offset, the filter tap at tap.
typedef void (*TapRunFn)(const DepthwiseShape *s, const Operands *ops, size_t x_offset, size_t dy_offset, size_t count,
                         size_t tap);

// Always inlined, so that fn becomes a direct call: the loader gives the module an empty function table.
static inline __attribute__((always_inline)) void for_each_tap_run(const DepthwiseShape *s, const Operands *ops,
                                                                   TapRunFn fn) {
  const size_t cout = s->channels * s->mult;
  for (size_t n = 0; n < s->batch; n++) {
    for (size_t oh = 0; oh < s->out_h; oh++) {
      const size_t dy_row = (n * s->out_h + oh) * s->out_w * cout;
      for (size_t kh = 0; kh < s->filter_h; kh++) {
        const int ih = (int)(oh * s->stride_h + kh * s->dilation_h) - s->pad_top;
        if (!inside(ih, s->in_h)) continue;
        for (size_t kw = 0; kw < s->filter_w; kw++) {
          const int shift = (int)(kw * s->dilation_w) - s->pad_left;
          size_t lo, hi;
          valid_range(shift, s->stride_w, s->in_w, s->out_w, &lo, &hi);
          if (lo >= hi) continue;
          const int iw = (int)(lo * s->stride_w) + shift; // >= 0: output column lo reads inside the image
          const size_t x_offset = ((n * s->in_h + (size_t)ih) * s->in_w + (size_t)iw) * s->channels;
          fn(s, ops, x_offset, dy_row + lo * cout, hi - lo, (kh * s->filter_w + kw) * cout);
        }
      }
    }
  }
}

// ops: a = x, b = dy, out = dw.
static void filter_run(const DepthwiseShape *s, const Operands *ops, size_t x_offset, size_t dy_offset, size_t count,
                       size_t tap) {
  const size_t xs = s->stride_w * s->channels;
  if (s->mult == 1) {
    filter_tap_row(ops->a + x_offset, xs, ops->b + dy_offset, count, ops->out + tap, s->channels);
  } else {
    filter_tap_row_multiplied(ops->a + x_offset, xs, ops->b + dy_offset, count, ops->out + tap, s->channels, s->mult);
  }
}

// ops: a = dy, b = filter, out = dx.
static void input_run(const DepthwiseShape *s, const Operands *ops, size_t x_offset, size_t dy_offset, size_t count,
                      size_t tap) {
  const size_t xs = s->stride_w * s->channels;
  if (s->mult == 1) {
    input_tap_row(ops->out + x_offset, xs, ops->a + dy_offset, count, ops->b + tap, s->channels);
  } else {
    input_tap_row_multiplied(ops->out + x_offset, xs, ops->a + dy_offset, count, ops->b + tap, s->channels, s->mult);
  }
}

#define DEPTHWISE_PARAMS                                                                                        \
  size_t batch, size_t in_h, size_t in_w, size_t channels, size_t out_h, size_t out_w, size_t mult,             \
      size_t filter_h, size_t filter_w, size_t stride_h, size_t stride_w, size_t dilation_h, size_t dilation_w, \
      int pad_top, int pad_left
#define DEPTHWISE_SHAPE                                                                                         \
  {batch, in_h, in_w, channels, out_h, out_w, mult, filter_h, filter_w,                                         \
   stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left}

EXPORT(depthwise_filter_grad)(const float *x, const float *dy, float *dw, DEPTHWISE_PARAMS) {
  const DepthwiseShape s = DEPTHWISE_SHAPE;
  const Operands ops = {x, dy, dw};
  fill_zero(dw, filter_h * filter_w * channels * mult);
  for_each_tap_run(&s, &ops, filter_run);
}

EXPORT(depthwise_input_grad)(const float *dy, const float *filter, float *dx, DEPTHWISE_PARAMS) {
  const DepthwiseShape s = DEPTHWISE_SHAPE;
  const Operands ops = {dy, filter, dx};
  fill_zero(dx, batch * in_h * in_w * channels);
  for_each_tap_run(&s, &ops, input_run);
}
