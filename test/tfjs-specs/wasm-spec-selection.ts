// Which of tfjs-core's compiled specs (in node_modules/@tensorflow/tfjs-core/dist) run on wasm
// with our kernels, and which specs are left out, each with the reason.

/** Set (to anything) to run the specs on the stock wasm backend, without our kernels. */
export const STOCK_KERNELS_ENV = "WASM_SPECS_STOCK_KERNELS";

/** The gradient specs of the convolutions, and the specs of every kernel or gradient we replace. */
export const SPEC_FILES: readonly string[] = [
  "ops/conv1d_test.js",
  "ops/conv2d_test.js",
  "ops/conv2d_separable_test.js",
  "ops/conv2d_transpose_test.js",
  "ops/depthwise_conv2d_test.js",
  "ops/fused/fused_conv2d_test.js",
  "ops/fused/fused_depthwise_conv2d_test.js",
  "ops/add_test.js",
  "ops/arithmetic_test.js",
  "ops/batchnorm_test.js",
  "ops/broadcast_to_test.js",
  "ops/clip_by_value_test.js",
  "ops/clone_test.js",
  "ops/mat_mul_test.js",
  "ops/mean_test.js",
  "ops/moments_test.js",
  "ops/relu_test.js",
  "ops/relu6_test.js",
  "ops/slice_test.js",
  "ops/sub_test.js",
  "ops/sum_test.js",
  "ops/tile_test.js",
];

/**
 * Specs that fail on the stock wasm backend for reasons outside these kernels (each fails the
 * same way with registerWasmTrainingKernels() left out); matched as substrings of full names.
 */
export const EXCLUDED_SPECS: readonly { name: string; why: string }[] = [
  { name: "NCHW", why: "the wasm Conv2D and FusedConv2D kernels support NHWC only" },
  { name: "complex", why: "the wasm backend has no complex64 kernels" },
  { name: "upcasts when dtypes dont match", why: "upcasts to complex64 (add, sub) or int32 BatchMatMul, which wasm lacks" },
  { name: "with broadcasted bias and relu", why: "wasm FusedConv2D / FusedDepthwiseConv2D take rank-1 biases only" },
  { name: "gradient x=[2,3,3,1] f=[2,2,1,1] s=1 p=0 with bias", why: "a rank-4 bias, which wasm fused convolutions reject" },
  { name: "tile wasm {} 1d string tensor", why: "the stock wasm Tile aborts on strings (ours hands strings to it)" },
  { name: "tile wasm {} 2d string tensor", why: "the stock wasm Tile aborts on strings (ours hands strings to it)" },
  { name: "tile wasm {} 6D string tensor", why: "the stock wasm Tile aborts on strings (ours hands strings to it)" },
  { name: "clipByValue wasm {} basic vec4", why: "the stock wasm ClipByValue does not propagate NaN" },
  { name: "clipByValue wasm {} propagates NaNs", why: "the stock wasm ClipByValue does not propagate NaN" },
];
