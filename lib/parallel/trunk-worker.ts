// One trunk worker thread (see parallel-trunk.ts): its own wasm backend and its own copy of a frozen
// trunk, which it runs over whole batches sent by the main thread.
import * as tf from "@tensorflow/tfjs";
import { parentPort, workerData } from "node:worker_threads";
import { selectBackend } from "../backend";
import "../models"; // registers BatchNorm and GroupedConv2D for deserialisation
import { trunkOutput, type TrunkInit, type TrunkReply, type TrunkRequest } from "./trunk-protocol";

async function main(): Promise<void> {
  const init = workerData as TrunkInit;
  await selectBackend("wasm", () => undefined);
  const trunk = await tf.models.modelFromJSON(JSON.parse(init.modelJson));
  const found = trunk.weights.map((w) => `${w.originalName}:${(w.shape as number[]).join("x")}`).join(",");
  const sent = init.weightNames.map((name, i) => `${name}:${init.weightShapes[i].join("x")}`).join(",");
  if (found !== sent) throw new Error("the worker's copy of the trunk has other weights than the trunk it was given");
  trunk.weights.forEach((w, i) => {
    const value = tf.tensor(init.weights[i], init.weightShapes[i]);
    w.write(value);
    value.dispose();
  });
  const port = parentPort!;
  port.on("message", (request: TrunkRequest) => {
    let reply: TrunkReply;
    try {
      const x = tf.tensor(request.x, request.shape);
      reply = { type: "output", data: trunkOutput(trunk, x) };
      x.dispose();
    } catch (error) {
      reply = { type: "error", message: (error as Error).stack ?? String(error) };
    }
    port.postMessage(reply, reply.type === "output" ? [reply.data.buffer] : []);
  });
  port.postMessage({ type: "ready" } satisfies TrunkReply);
}

main().catch((error) => parentPort!.postMessage({ type: "error", message: (error as Error).stack ?? String(error) } satisfies TrunkReply));
