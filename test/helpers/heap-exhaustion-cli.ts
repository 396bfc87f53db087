// Child process of test/wasm-high-heap.test.ts: fills the wasm heap to within `room` MiB of wasm32's
// 4 GiB, then trains one step whose activations do not fit, and prints the error it gets. Arguments:
// the room in MiB (16) and the training threads (1; with 2 the worker thread's heap is not filled,
// this thread's share of the batch fails).
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../lib/backend";
import { Learner } from "../../lib/train";
import { TinyImages, tinyModel } from "./tiny-training";

async function main(): Promise<void> {
  await selectBackend("wasm", () => {});
  const model = tinyModel();
  const ballast: tf.Tensor[] = [];
  const room = Number(process.argv[2] ?? 16) * 2 ** 20;
  for (let chunk = 256 * 2 ** 20; chunk >= 2 ** 20; chunk /= 2) {
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    while (heap() + chunk < 2 ** 32 - room) ballast.push(tf.zeros([chunk / 4]));
  }
  // 4096 images of 8x8x3 in one batch: each activation of the step is a few MiB.
  const learner = new Learner({
    model, groups: [{ name: "all", variables: model.trainableWeights, lr: 0.01 }],
    train: new TinyImages(4096, 4096), classes: ["a", "b", "c"], parallel: { shares: Number(process.argv[3] ?? 1) },
  });
  try {
    await learner.fit(1);
    console.log("RESULT fitted");
  } catch (error) {
    console.log(`RESULT ${(error as Error).constructor.name}: ${(error as Error).message}`);
  }
}

void main();
