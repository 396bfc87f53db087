// How a backbone wants its pixels: the per-channel affine map from [0, 1] RGB to its input, and the
// channel order. Every convention is one line of this table, so the pipeline has one code path.
//   torchvision  Normalize(ImageNet mean, std)                 (x - mean) / std
//   keras-tf     keras.applications "tf" (MobileNetV2, ...)    x * 2 - 1, i.e. [-1, 1]
//   keras-caffe  keras.applications "caffe" (ResNet50, VGG)    BGR, x * 255 - [103.939, 116.779, 123.68]
//   unit         RGB / 255 (nsfwjs)                           x
export type InputConventionName = "torchvision" | "keras-tf" | "keras-caffe" | "unit";

export interface InputConvention {
  name: InputConventionName;
  /** Per output channel, in units of [0, 1]: input = (x - mean) / std. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** The model's channel 0 is blue. */
  bgr: boolean;
}

const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68] as const;

export const INPUT_CONVENTIONS: Readonly<Record<InputConventionName, InputConvention>> = {
  "torchvision": { name: "torchvision", mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], bgr: false },
  "keras-tf": { name: "keras-tf", mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], bgr: false },
  "keras-caffe": {
    name: "keras-caffe",
    mean: [CAFFE_MEAN_BGR[0] / 255, CAFFE_MEAN_BGR[1] / 255, CAFFE_MEAN_BGR[2] / 255],
    std: [1 / 255, 1 / 255, 1 / 255],
    bgr: true,
  },
  "unit": { name: "unit", mean: [0, 0, 0], std: [1, 1, 1], bgr: false },
};

export const DEFAULT_CONVENTION: InputConventionName = "torchvision";

/** What a model takes: a square image of `size` pixels, mapped by `convention`. Travels with the model. */
export interface ModelInput {
  size: number;
  convention: InputConventionName;
  /**
   * A trained classifier's views at prediction: windows along each image's long side (positions 0
   * to 1, see PreprocessSpec.window), probabilities averaged. Absent: the centre crop alone.
   */
  windows?: readonly number[];
  /**
   * Multi-scale test-time augmentation: each window is also seen at `scaledSize(size, scale)` pixels,
   * the same field of view at a finer resolution, and the probabilities are averaged over every scale
   * and window. Absent: [1], the trained size alone.
   */
  scales?: readonly number[];
}

export function inputConvention(name: InputConventionName = DEFAULT_CONVENTION): InputConvention {
  const convention = INPUT_CONVENTIONS[name];
  if (!convention) throw new Error(`unknown input convention "${name}"; use one of ${Object.keys(INPUT_CONVENTIONS).join(", ")}`);
  return convention;
}
