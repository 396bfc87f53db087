// One data-parallel worker thread (see data-parallel.ts): its own tfjs wasm backend and its own copy
// of the model. Each step it reads the current weights from shared memory, computes the gradients
// of its share of the batch and writes them back into shared memory.
import * as tf from "@tensorflow/tfjs";
import { parentPort, workerData } from "node:worker_threads";
import { selectBackend } from "../backend";
import { foldedInference, type FoldedModel } from "../backends/folded-inference";
import "../models"; // registers BatchNorm and GroupedConv2D for deserialisation
import { gradientShare, offsetsOf, type InitMessage, type StepMessage, type WorkerReply } from "./protocol";

async function main(): Promise<void> {
  const init = workerData as InitMessage;
  await selectBackend("wasm", () => undefined);
  const model = await tf.models.modelFromJSON(JSON.parse(init.modelJson));
  const shapes = model.weights.map((w) => (w.shape as number[]).join("x"));
  if (shapes.join(",") !== init.weightShapes.map((s) => s.join("x")).join(",")) {
    throw new Error("the worker's copy of the model has other weights than the model given to DataParallel");
  }
  const weights = new Float32Array(init.weights);
  const grads = new Float32Array(init.grads);
  const offsets = offsetsOf(init.weightShapes);
  const trainable = init.trainable.map((i) => model.weights[i]);
  const gradOffsets = offsetsOf(init.trainable.map((i) => init.weightShapes[i]));
  const port = parentPort!;
  let folded: FoldedModel | undefined; // for logits; folded again after the weights change
  port.on("message", (message: StepMessage) => {
    let reply: WorkerReply;
    try {
      // Only what changed: a new weight tensor costs XNNPACK a new operator and a weight repacking.
      if (message.changed.length) {
        folded?.dispose();
        folded = undefined;
      }
      for (const i of message.changed) {
        const t = tf.tensor(weights.subarray(offsets[i], offsets[i + 1]), init.weightShapes[i]);
        model.weights[i].write(t);
        t.dispose();
      }
      const x = tf.tensor(message.x, message.xShape);
      if (message.kind === "logits") {
        folded ??= foldedInference(model);
        const logits = folded.predict(x);
        reply = { type: "logits", data: logits.dataSync() as Float32Array, shape: logits.shape };
        tf.dispose([x, logits]);
      } else {
        const y = tf.tensor1d(message.y, "int32");
        const result = gradientShare(model, trainable.map((w) => w.read() as tf.Variable), x, y, init.numClasses, message.total, init.labelSmoothing);
        result.grads.forEach((g, k) => grads.set(g.dataSync() as Float32Array, gradOffsets[k]));
        reply = { type: "done", loss: result.loss.dataSync()[0], hits: result.hits.dataSync()[0] };
        tf.dispose([x, y, result.loss, result.hits, ...result.grads]);
      }
    } catch (error) {
      reply = { type: "error", message: (error as Error).stack ?? String(error) };
    }
    port.postMessage(reply, reply.type === "logits" ? [reply.data.buffer] : []);
  });
  port.postMessage({ type: "ready" } satisfies WorkerReply);
}

main().catch((error) => parentPort!.postMessage({ type: "error", message: (error as Error).stack ?? String(error) } satisfies WorkerReply));
