// 2-D convolution with PyTorch's `groups`: the input channels are split into `groups` equal parts,
// each convolved with its own filters. The kernel is one tensor [kh, kw, in / groups, out], so a
// PyTorch weight [out, in / groups, kh, kw] maps onto it by a transpose. NHWC only.
import * as tf from "@tensorflow/tfjs";

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Pair = [number, number];
type Initializer = ReturnType<typeof tf.initializers.varianceScaling>;

export interface GroupedConv2DArgs extends LayerArgs {
  filters: number;
  kernelSize: number | Pair;
  strides?: number | Pair;
  /** As tfjs; for PyTorch's symmetric zero padding put a ZeroPadding2D in front and use "valid". */
  padding?: "valid" | "same";
  dilationRate?: number | Pair;
  groups?: number;
  useBias?: boolean;
  /** Default: PyTorch's ResNet/MobileNet initialisation (kaiming normal, fan-out), unseeded. */
  kernelInitializer?: Initializer;
}

export class GroupedConv2D extends tf.layers.Layer {
  static readonly className = "GroupedConv2D";
  readonly filters: number;
  readonly kernelSize: Pair;
  readonly strides: Pair;
  readonly padding: "valid" | "same";
  readonly dilationRate: Pair;
  readonly groups: number;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: GroupedConv2DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = pair(args.kernelSize);
    this.strides = pair(args.strides ?? 1);
    this.padding = args.padding ?? "valid";
    this.dilationRate = pair(args.dilationRate ?? 1);
    this.groups = args.groups ?? 1;
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = args.kernelInitializer ?? tf.initializers.varianceScaling({ scale: 2, mode: "fanOut", distribution: "normal" });
    if (!Number.isInteger(this.groups) || this.groups < 1 || this.filters % this.groups !== 0) {
      throw new Error(`${this.name}: filters (${this.filters}) must be a multiple of groups (${this.groups})`);
    }
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const inChannels = channelsOf(this.name, inputShape);
    if (inChannels % this.groups !== 0) {
      throw new Error(`${this.name}: input channels (${inChannels}) must be a multiple of groups (${this.groups})`);
    }
    const [kh, kw] = this.kernelSize;
    this.kernel = this.addWeight("kernel", [kh, kw, inChannels / this.groups, this.filters], "float32", this.kernelInitializer);
    if (this.useBias) this.bias = this.addWeight("bias", [this.filters], "float32", tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [batch, height, width] = shape;
    return [batch, this.outputLength(height, 0), this.outputLength(width, 1), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const kernel = this.kernel;
    if (!kernel) throw new Error(`${this.name} is used before it is built`);
    return tf.tidy(() => {
      const y = this.convolve(x, kernel.read() as tf.Tensor4D);
      return this.bias ? tf.add(y, this.bias.read()) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dilationRate: this.dilationRate,
      groups: this.groups,
      useBias: this.useBias,
    };
  }

  private convolve(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
    const inChannels = x.shape[3];
    if (this.groups === 1) return tf.conv2d(x, kernel, this.strides, this.padding, "NHWC", this.dilationRate);
    if (this.groups === inChannels) {
      // One input channel per group is a depthwise convolution; output channel c * m + j reads input
      // channel c in both PyTorch and tfjs, so the kernel only needs a reshape.
      const [kh, kw] = this.kernelSize;
      const depthwise = tf.reshape(kernel, [kh, kw, inChannels, this.filters / inChannels]) as tf.Tensor4D;
      return tf.depthwiseConv2d(x, depthwise, this.strides, this.padding, "NHWC", this.dilationRate);
    }
    const inputs = tf.split(x, this.groups, 3) as tf.Tensor4D[];
    const kernels = tf.split(kernel, this.groups, 3) as tf.Tensor4D[];
    const outputs = inputs.map((part, g) => tf.conv2d(part, kernels[g], this.strides, this.padding, "NHWC", this.dilationRate));
    return tf.concat(outputs, 3);
  }

  private outputLength(length: number | null, axis: 0 | 1): number | null {
    if (length === null) return null;
    const stride = this.strides[axis];
    if (this.padding === "same") return Math.ceil(length / stride);
    const span = (this.kernelSize[axis] - 1) * this.dilationRate[axis] + 1;
    return Math.ceil((length - span + 1) / stride);
  }
}

function pair(value: number | Pair): Pair {
  return typeof value === "number" ? [value, value] : [value[0], value[1]];
}

function channelsOf(name: string, inputShape: tf.Shape | tf.Shape[]): number {
  const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  const channels = shape[3];
  if (shape.length !== 4 || channels == null) {
    throw new Error(`${name}: expects NHWC input with known channels, got shape ${JSON.stringify(shape)}`);
  }
  return channels;
}

tf.serialization.registerClass(GroupedConv2D);
