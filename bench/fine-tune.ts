// One fine-tune of a backbone's top on cached trunk features, to see whether validation accuracy in
// inference mode tracks training: per epoch training accuracy (training mode) and validation
// accuracy, then the training images scored in inference mode. The README's BatchNorm-momentum,
// image-size, freeze-point and threads figures come from it.
//   npm run bench:fine-tune -- --size 128 --unfreeze 8 --epochs 4 --momentum 0.999
//   npm run bench:fine-tune -- --size 224 --unfreeze 8 --epochs 1 --threads 1
// Options: --backbone (nsfwjs:mobilenet_v2), --size (224), --unfreeze (8), --epochs (4),
// --momentum (loadBackbone's default), --frozen-bn (BatchNorm layers in inference mode throughout),
// --body / --head (Adam rates, 1e-3 / 3e-3), --threads (defaultTrainingThreads()), --smoothing (label smoothing, 0),
// --manifest (data/splits/embedded.json: run npm start or notebook 01 first).
import { parseArgs } from "node:util";
import { selectBackend } from "../lib/backend";
import { loadBackbone } from "../lib/backbone";
import { readManifest } from "../lib/data/manifest";
import { headAndBody } from "../lib/experiments/train-once";
import { unfreezeTop } from "../lib/models";
import { BatchNorm } from "../lib/models/layers/batch-norm";
import { defaultTrainingThreads, Learner } from "../lib/train/learner";
import { trainingSources } from "../lib/train/training-sources";
import { cpuModel } from "./common";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backbone: { type: "string", default: "nsfwjs:mobilenet_v2" },
      size: { type: "string", default: "224" },
      unfreeze: { type: "string", default: "8" },
      epochs: { type: "string", default: "4" },
      momentum: { type: "string" },
      "frozen-bn": { type: "boolean", default: false },
      body: { type: "string", default: "1e-3" },
      head: { type: "string", default: "3e-3" },
      threads: { type: "string" },
      smoothing: { type: "string", default: "0" },
      manifest: { type: "string", default: "data/splits/embedded.json" },
    },
  });
  await selectBackend();
  const epochs = Number(values.epochs);
  const manifest = readManifest(values.manifest!);
  const { model, input } = await loadBackbone(values.backbone!, {
    numClasses: manifest.classes.length, imageSize: Number(values.size), seed: 1,
    batchNormMomentum: values.momentum === undefined ? undefined : Number(values.momentum),
  });
  const freezePoint = unfreezeTop(model, Number(values.unfreeze));
  if (values["frozen-bn"]) for (const layer of model.layers) if (layer instanceof BatchNorm) layer.trainable = false;
  const sources = await trainingSources({ model, input }, manifest, { batchSize: 50, seed: 1, epochs, featureCache: "data/cache/features", label: "fine-tune" });
  const threads = values.threads ? Number(values.threads) : defaultTrainingThreads();
  const learner = new Learner({
    model, top: sources.top, classes: manifest.classes, train: sources.train, valid: sources.valid,
    groups: headAndBody(model, { head: Number(values.head), body: Number(values.body) }),
    parallel: { shares: threads }, labelSmoothing: Number(values.smoothing),
  });
  console.log(`${cpuModel()} · ${values.backbone} @${input.size} · from ${freezePoint || "the input"} · ${threads} thread(s) · label smoothing ${values.smoothing} · ${sources.description}`);
  for (const r of await learner.fit(epochs)) {
    console.log(`epoch ${r.epoch}: train ${(100 * r.trainAccuracy).toFixed(1)} % (training mode), valid ${(100 * (r.validAccuracy ?? NaN)).toFixed(1)} %, ${r.seconds.toFixed(1)} s`);
  }
  console.log(`training images in inference mode: ${(100 * (await learner.evaluate(sources.train)).accuracy).toFixed(1)} %`);
  await learner.dispose();
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
