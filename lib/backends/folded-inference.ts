// Inference with every BatchNorm folded into the convolution before it, and the ReLU/ReLU6 after
// it fused in too: conv -> BatchNorm -> ReLU6 becomes one tf.fused.conv2d (or depthwiseConv2d) with
// weights W * gamma / sqrt(var + eps) and bias beta - mean * gamma / sqrt(var + eps), so the wasm
// backend runs one convolution kernel instead of a convolution, a batch norm and one or two
// activation kernels, and a ZeroPadding2D in front of a convolution becomes its own padding. The
// classic trick for inference: predictFiles, Learner.evaluate and DataParallel.predict use it.
//
// The model itself is not changed (names, layers and weights stay as they are): foldedInference
// walks its graph and snapshots the folded weights, so build a new one after the weights change.
// Results agree with model.predict up to float rounding (test/perf-folded-inference.test.ts).
import * as tf from "@tensorflow/tfjs";
import { BatchNorm } from "../models/layers/batch-norm";

type Sym = tf.SymbolicTensor;
type Activation = "linear" | "relu" | "relu6";
type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

interface InboundNode {
  inputTensors: Sym[];
}

interface FoldedConv {
  kind: "conv2d" | "depthwise";
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  strides: [number, number];
  pad: "valid" | "same" | ExplicitPadding;
  dilations: [number, number];
}

export interface FoldedModel {
  /** Inference-mode forward pass of the whole model (same as model.predict, but folded). */
  predict(x: tf.Tensor): tf.Tensor;
  /** Convolutions that absorbed a BatchNorm (and an activation, if any). */
  readonly folded: number;
  /** ZeroPadding2D layers that became the explicit padding of the convolution after them. */
  readonly paddings: number;
  dispose(): void;
}

function inputsOf(t: Sym): Sym[] {
  const nodes = (t.sourceLayer as unknown as { inboundNodes: InboundNode[] }).inboundNodes;
  return nodes[t.nodeIndex]?.inputTensors ?? [];
}

function config(layer: tf.layers.Layer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

function pair(value: unknown): [number, number] {
  return Array.isArray(value) ? [Number(value[0]), Number(value[1] ?? value[0])] : [Number(value), Number(value)];
}

/** The fused activation of a ReLU layer, if it has one tfjs can fuse. */
function activationOf(layer: tf.layers.Layer): Activation | undefined {
  if (layer.getClassName() !== "ReLU") return undefined;
  const maxValue = config(layer).maxValue;
  if (maxValue === null || maxValue === undefined) return "relu";
  return maxValue === 6 ? "relu6" : undefined;
}

/** Folds `bn` (our BatchNorm, inference statistics) into `conv` (Conv2D or GroupedConv2D), or undefined if it cannot. */
function foldConv(conv: tf.layers.Layer, bn: tf.layers.Layer, inChannels: number): FoldedConv | undefined {
  const cls = conv.getClassName();
  if ((cls !== "Conv2D" && cls !== "GroupedConv2D") || !(bn instanceof BatchNorm)) return undefined;
  const c = config(conv);
  if (c.dataFormat !== undefined && c.dataFormat !== "channelsLast") return undefined;
  if (c.activation !== undefined && c.activation !== "linear") return undefined;
  const groups = cls === "GroupedConv2D" ? Number(c.groups) : 1;
  if (groups !== 1 && groups !== inChannels) return undefined;
  const weights = conv.getWeights();
  const kernel = weights[0] as tf.Tensor4D;
  const convBias = c.useBias ? (weights[1] as tf.Tensor1D) : undefined;
  const { gamma, beta, movingMean: mean, movingVariance: variance } = bn.inferenceParameters();
  return tf.tidy(() => {
    // Without scale (center), gamma is 1 (beta is 0).
    const scale = tf.div(gamma ?? 1, tf.sqrt(tf.add(variance, bn.epsilon)));
    const centred = convBias ? tf.sub(convBias, mean) : tf.neg(mean);
    const shift = tf.add(beta ?? 0, tf.mul(centred, scale));
    const [kh, kw, , out] = kernel.shape;
    const filter = groups === 1
      ? tf.mul(kernel, scale)
      : tf.reshape(tf.mul(kernel, scale), [kh, kw, inChannels, out / inChannels]);
    return {
      kind: (groups === 1 ? "conv2d" : "depthwise") as FoldedConv["kind"],
      filter: filter as tf.Tensor4D,
      bias: shift as tf.Tensor1D,
      strides: pair(c.strides ?? 1),
      pad: (c.padding ?? "valid") as "valid" | "same",
      dilations: pair(c.dilationRate ?? 1),
    };
  });
}

/**
 * A ZeroPadding2D in front of a "valid" convolution (how lib/models gets PyTorch's symmetric
 * padding for strided convolutions) becomes the convolution's own explicit padding: the kernel
 * reads zeros where the window falls outside, and the padded copy of the activations is never written.
 */
function absorbPadding(conv: FoldedConv, input: Sym): { conv: FoldedConv; input: Sym } {
  const layer = input.sourceLayer;
  if (conv.pad !== "valid" || layer.getClassName() !== "ZeroPadding2D") return { conv, input };
  const c = config(layer);
  if (c.dataFormat !== undefined && c.dataFormat !== "channelsLast") return { conv, input };
  const [[top, bottom], [left, right]] = c.padding as [[number, number], [number, number]];
  const [padded] = inputsOf(input);
  if (!padded) return { conv, input };
  return { conv: { ...conv, pad: [[0, 0], [top, bottom], [left, right], [0, 0]] }, input: padded };
}

/** How many times each symbolic tensor is read in the graph that `inputs` describes, from `output` down. */
function countReads(output: Sym, inputs: (t: Sym) => Sym[]): Map<number, number> {
  const reads = new Map<number, number>();
  const seen = new Set<number>();
  const visit = (t: Sym) => {
    if (seen.has(t.id)) return;
    seen.add(t.id);
    for (const u of inputs(t)) {
      reads.set(u.id, (reads.get(u.id) ?? 0) + 1);
      visit(u);
    }
  };
  visit(output);
  return reads;
}

function runFolded(f: FoldedConv, x: tf.Tensor4D, activation: Activation): tf.Tensor4D {
  const args = { x, filter: f.filter, strides: f.strides, pad: f.pad, dilations: f.dilations, bias: f.bias, activation };
  if (f.kind === "conv2d") return tf.fused.conv2d(args);
  // The op's types leave out explicit padding, which its kernels (computeConv2DInfo) take.
  return tf.fused.depthwiseConv2d({ ...args, pad: args.pad as "valid" });
}

export interface FoldOptions {
  /** Make a ZeroPadding2D in front of a convolution that convolution's own padding (default true). */
  absorbPadding?: boolean;
}

/** A folded inference function for a functional model built from lib/models (or any model with conv -> BatchNorm). */
export function foldedInference(model: tf.LayersModel, options: FoldOptions = {}): FoldedModel {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Error("foldedInference takes a model with one input and one output");
  const inputId = model.inputs[0].id;
  // Only a conv output read by its BatchNorm alone (and a BatchNorm output read by its ReLU alone)
  // can be folded away.
  const readers = countReads(model.outputs[0], inputsOf);
  const folds = new Map<number, { conv: FoldedConv; input: Sym; activation: Activation }>();
  const plan = (t: Sym): void => {
    if (folds.has(t.id) || t.id === inputId) return;
    const layer = t.sourceLayer;
    let activation: Activation = "linear";
    let bnOut: Sym | undefined = t;
    const act = activationOf(layer);
    if (act) {
      const [u] = inputsOf(t);
      bnOut = u && u.sourceLayer.getClassName() === "BatchNorm" && readers.get(u.id) === 1 ? u : undefined;
      activation = act;
    }
    if (bnOut && bnOut.sourceLayer.getClassName() === "BatchNorm") {
      const [convOut] = inputsOf(bnOut);
      if (convOut && readers.get(convOut.id) === 1 && convOut.id !== inputId) {
        const [input] = inputsOf(convOut);
        const inChannels = input?.shape[input.shape.length - 1];
        const conv = input && inChannels ? foldConv(convOut.sourceLayer, bnOut.sourceLayer, inChannels) : undefined;
        if (conv) {
          const absorbed = options.absorbPadding === false ? { conv, input } : absorbPadding(conv, input);
          folds.set(t.id, { ...absorbed, activation });
          plan(absorbed.input);
          return;
        }
      }
    }
    for (const u of inputsOf(t)) plan(u);
  };
  plan(model.outputs[0]);
  const foldedInputsOf = (t: Sym): Sym[] => {
    const fold = folds.get(t.id);
    return fold ? [fold.input] : inputsOf(t);
  };
  const reads = countReads(model.outputs[0], foldedInputsOf);

  // An activation is freed as soon as its last reader has run, so the heap holds the live
  // activations rather than all of them (a batch of 64 at 224 px: about a tenth).
  const evaluate = (t: Sym, x: tf.Tensor, memo: Map<number, tf.Tensor>, left: Map<number, number>): tf.Tensor => {
    if (t.id === inputId) return x;
    const known = memo.get(t.id);
    if (known) return known;
    const fold = folds.get(t.id);
    const sources = foldedInputsOf(t);
    const inputs = sources.map((u) => evaluate(u, x, memo, left));
    const y = fold
      ? runFolded(fold.conv, inputs[0] as tf.Tensor4D, fold.activation)
      : (t.sourceLayer.apply(inputs.length === 1 ? inputs[0] : inputs, { training: false }) as tf.Tensor);
    memo.set(t.id, y);
    for (const [i, u] of sources.entries()) {
      const remaining = left.get(u.id)! - 1;
      left.set(u.id, remaining);
      // Layers that pass their input through (Dropout in inference) return the same tensor.
      if (remaining === 0 && inputs[i] !== x && inputs[i] !== y) inputs[i].dispose();
    }
    return y;
  };
  return {
    folded: folds.size,
    paddings: [...folds.values()].filter(({ conv }) => typeof conv.pad !== "string").length,
    predict: (x) => tf.tidy(() => evaluate(model.outputs[0], x, new Map(), new Map(reads))),
    dispose: () => {
      for (const { conv } of folds.values()) tf.dispose([conv.filter, conv.bias]);
      folds.clear();
    },
  };
}
