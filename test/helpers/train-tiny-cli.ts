// Child process for the SIGKILL resume test: trains with checkpoints in DIR, resuming if one exists,
// then writes the final weights as JSON. Prints one line per batch so the parent can kill it mid-epoch.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { Learner, SaveCheckpoints } from "../../lib/train";
import { TinyImages, tinyModel } from "./tiny-training";

async function main(): Promise<void> {
  const [dir, delayMs] = [process.argv[2], Number(process.argv[3] ?? 0)];
  await tf.setBackend("cpu");
  const model = tinyModel();
  const checkpoints = new SaveCheckpoints(dir);
  const learner = new Learner({
    model,
    groups: [
      { name: "body", variables: model.weights.filter((w) => !w.name.startsWith("fc")), lr: 0.01 },
      { name: "fc", variables: model.weights.filter((w) => w.name.startsWith("fc")), lr: 0.05 },
    ],
    train: new TinyImages(),
    valid: new TinyImages(9, 9, 99),
    classes: ["a", "b", "c"],
    callbacks: [
      checkpoints,
      { onBatchEnd: (_l, b) => { console.log(`epoch ${b.epoch} images ${b.images}`); if (delayMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs); } },
    ],
  });
  if (fs.existsSync(checkpoints.last)) await learner.restore(checkpoints.last);
  await learner.fit(2);
  learner.setLearningRates(0.002);
  await learner.fit(2);
  const weights = Object.fromEntries(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
  fs.writeFileSync(path.join(dir, "final.json"), JSON.stringify({ weights, history: learner.history }));
  console.log("done");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
