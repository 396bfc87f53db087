// Batch normalisation over the last axis with Keras-2 semantics for frozen layers and PyTorch's
// defaults. tfjs's own BatchNormalization keeps updating its moving statistics when trainable is
// false; this one, once frozen, always normalises with (and never changes) its moving statistics,
// which is what fine-tuning a pretrained backbone needs.
import * as tf from "@tensorflow/tfjs";

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Parameters<tf.layers.Layer["call"]>[1];

export interface BatchNormArgs extends LayerArgs {
  /** Added to the variance before the square root (PyTorch: 1e-5). */
  epsilon?: number;
  /**
   * Keras convention: moving = momentum * moving + (1 - momentum) * batch. The default 0.9 is
   * PyTorch's momentum=0.1.
   */
  momentum?: number;
  /** Learn a per-channel factor gamma (default true); without it the layer multiplies by 1, as Keras' scale=False. */
  scale?: boolean;
  /** Learn a per-channel offset beta (default true); without it the layer adds 0, as Keras' center=False. */
  center?: boolean;
}

export class BatchNorm extends tf.layers.Layer {
  static readonly className = "BatchNorm";
  readonly epsilon: number;
  /** Settable: a fine-tune sets it for the whole model (see loadBackbone's batchNormMomentum). */
  momentum: number;
  readonly scale: boolean;
  readonly center: boolean;
  private gamma?: tf.LayerVariable;
  private beta?: tf.LayerVariable;
  private movingMean?: tf.LayerVariable;
  private movingVariance?: tf.LayerVariable;

  constructor(args: BatchNormArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
    this.momentum = args.momentum ?? 0.9;
    this.scale = args.scale ?? true;
    this.center = args.center ?? true;
    // freezeBefore and parametersOf find a BatchNorm's block through its affine weights.
    if (!this.scale && !this.center) throw new Error(`${this.name}: a BatchNorm needs scale or center (gamma or beta), or it could not be frozen`);
  }

  /** The learnable weights (gamma, beta), as opposed to the moving statistics (PyTorch's buffers). */
  get affineWeights(): tf.LayerVariable[] {
    return [this.gamma, this.beta].filter((w): w is tf.LayerVariable => w !== undefined);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error(`${this.name}: the channel axis must have a known size, got shape ${JSON.stringify(shape)}`);
    if (this.scale) this.gamma = this.addWeight("gamma", [channels], "float32", tf.initializers.ones());
    if (this.center) this.beta = this.addWeight("beta", [channels], "float32", tf.initializers.zeros());
    this.movingMean = this.addWeight("moving_mean", [channels], "float32", tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight("moving_variance", [channels], "float32", tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const { gamma, beta, movingMean, movingVariance } = this.builtWeights();
    return tf.tidy(() => {
      // tfjs-core's FusedBatchNorm fails on the gradient tape without a scale or an offset input.
      const scale = gamma?.read() ?? tf.onesLike(movingMean.read());
      const offset = beta?.read() ?? tf.zerosLike(movingMean.read());
      if (kwargs.training === true && this.trainable) {
        const axes = x.shape.slice(0, -1).map((_, i) => i);
        const { mean, variance } = tf.moments(x, axes);
        this.updateMovingStatistics(mean, variance, x.size / x.shape[x.shape.length - 1]);
        return tf.batchNorm(x, mean, variance, offset, scale, this.epsilon);
      }
      return tf.batchNorm(x, movingMean.read(), movingVariance.read(), offset, scale, this.epsilon);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon, momentum: this.momentum, scale: this.scale, center: this.center };
  }

  /** The inference-mode parameters; gamma and beta are absent without scale and center. */
  inferenceParameters(): { gamma?: tf.Tensor1D; beta?: tf.Tensor1D; movingMean: tf.Tensor1D; movingVariance: tf.Tensor1D } {
    const { gamma, beta, movingMean, movingVariance } = this.builtWeights();
    const read = (w: tf.LayerVariable) => w.read() as tf.Tensor1D;
    return { gamma: gamma && read(gamma), beta: beta && read(beta), movingMean: read(movingMean), movingVariance: read(movingVariance) };
  }

  /** As PyTorch: the moving variance follows the unbiased batch variance (n / (n - 1)). */
  private updateMovingStatistics(mean: tf.Tensor, variance: tf.Tensor, valuesPerChannel: number): void {
    const { movingMean, movingVariance } = this.builtWeights();
    const bessel = valuesPerChannel > 1 ? valuesPerChannel / (valuesPerChannel - 1) : 1;
    tf.tidy(() => {
      const keep = this.momentum;
      movingMean.write(tf.add(tf.mul(movingMean.read(), keep), tf.mul(mean, 1 - keep)));
      movingVariance.write(tf.add(tf.mul(movingVariance.read(), keep), tf.mul(variance, (1 - keep) * bessel)));
    });
  }

  private builtWeights(): { gamma?: tf.LayerVariable; beta?: tf.LayerVariable; movingMean: tf.LayerVariable; movingVariance: tf.LayerVariable } {
    const { gamma, beta, movingMean, movingVariance } = this;
    if (!movingMean || !movingVariance) throw new Error(`${this.name} is used before it is built`);
    return { gamma, beta, movingMean, movingVariance };
  }
}

tf.serialization.registerClass(BatchNorm);
