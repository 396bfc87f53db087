// Edits to a Keras functional model's topology (model.json's modelTopology as Keras 2 and the
// TensorFlow.js converter write it) before tfjs builds it: cutting off everything after a layer
// (a classifier's own head) and choosing the input size, which the weights do not depend on.

interface KerasLayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  /** Per call of the layer, its inputs as [layer name, node index, tensor index, kwargs]. */
  inbound_nodes: unknown[][];
}

interface KerasModelTopology {
  model_config: { class_name: string; config: { name?: string; layers: KerasLayerJson[]; input_layers: unknown[][]; output_layers: unknown[][] } };
}

export interface TrunkTopologyOptions {
  /** The layer whose output becomes the model's output; layers it does not depend on go. */
  end: string;
  /** The input's height and width (a square image). */
  inputSize: number;
  /** The model's name. */
  name: string;
}

/**
 * A copy of `topology` ending at `options.end`, for images of `options.inputSize` pixels, with every
 * layer trainable (the flags a model was saved with are its authors' fine-tuning, not ours).
 */
export function kerasTrunkTopology(topology: object, options: TrunkTopologyOptions): object {
  const copy = structuredClone(topology) as KerasModelTopology;
  const config = copy.model_config?.config;
  if (!Array.isArray(config?.layers)) throw new Error("the topology is no Keras functional model (model_config.config.layers is missing)");
  const byName = new Map(config.layers.map((layer) => [layer.name, layer]));
  if (!byName.has(options.end)) throw new Error(`the topology has no layer ${options.end} to end at`);
  const kept = ancestors(options.end, byName);
  config.layers = config.layers.filter((layer) => kept.has(layer.name));
  config.output_layers = [[options.end, 0, 0]];
  config.name = options.name;
  const inputs = config.layers.filter((layer) => layer.class_name === "InputLayer");
  if (inputs.length !== 1) throw new Error(`the trunk has ${inputs.length} input layers; one image input is expected`);
  const shape = inputs[0].config.batch_input_shape as (number | null)[] | undefined;
  if (shape?.length !== 4) throw new Error(`input ${inputs[0].name} is not an image batch (batch_input_shape ${JSON.stringify(shape)})`);
  inputs[0].config.batch_input_shape = [null, options.inputSize, options.inputSize, shape[3]];
  for (const layer of config.layers) layer.config.trainable = true;
  return copy;
}

/** `end` and every layer it reads from, directly or not. */
function ancestors(end: string, byName: Map<string, KerasLayerJson>): Set<string> {
  const found = new Set([end]);
  const pending = [end];
  while (pending.length > 0) {
    const layer = byName.get(pending.pop()!)!;
    for (const node of layer.inbound_nodes) {
      for (const entry of node) {
        const source = Array.isArray(entry) ? entry[0] : undefined;
        if (typeof source !== "string" || !byName.has(source)) throw new Error(`${layer.name}: unreadable inbound node ${JSON.stringify(entry)}`);
        if (!found.has(source)) (found.add(source), pending.push(source));
      }
    }
  }
  return found;
}
