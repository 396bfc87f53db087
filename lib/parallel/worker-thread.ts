// Worker threads that run this project's TypeScript: each has its own tfjs wasm backend, which is
// how a Node process gets a second core (tfjs' threaded wasm build keeps one thread in Node).
import { Worker } from "node:worker_threads";

/** Starts a worker thread running a TypeScript file, whether or not this process runs under tsx (tslab does not). */
export function startWorker(file: string, workerData: unknown): Worker {
  const tsx = require.resolve("tsx/cjs");
  const code = `require(${JSON.stringify(tsx)}); require(${JSON.stringify(file)});`;
  return new Worker(code, { eval: true, workerData });
}
