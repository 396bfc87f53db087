// npm run bench:pages -- what huge pages for the wasm heap (lib/backends/huge-pages.ts) change: each
// round starts two fresh processes, one with CHARID_HUGE_PAGES=off and one without, in turns; each
// runs notebook 05's trunk (nsfwjs MobileNetV2 @224 up to block.10, batches of 50, one thread) three
// times. The first batch pays for touching the new heap's pages; the later ones show the steady state.
// Then it grows a fresh WebAssembly.Memory to 1 GiB and writes every byte of it once.
//   npm run bench:pages -- --rounds 5
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend";
import { loadBackbone } from "../lib/backbone";
import { freezeBefore, splitAtFreezePoint } from "../lib/models";
import { cpuModel, median } from "./common";

const BATCH = 50;
const SIZE = 224;
const CALLS = 3;

/** In the child: milliseconds of each trunk call on a fresh heap. */
async function child(): Promise<void> {
  await selectBackend("wasm", () => undefined);
  const { model } = await loadBackbone("nsfwjs:mobilenet_v2", { numClasses: 42, imageSize: SIZE });
  freezeBefore(model, "block.10");
  const { trunk } = splitAtFreezePoint(model)!;
  const ms: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const x = tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 1, "float32", i);
    const started = performance.now();
    const y = trunk.predict(x) as tf.Tensor;
    y.dataSync();
    ms.push(performance.now() - started);
    tf.dispose([x, y]);
  }
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16384 });
  memory.grow(16383);
  const started = performance.now();
  new Uint8Array(memory.buffer).fill(1);
  console.log(JSON.stringify({ trunk: ms, gib: performance.now() - started }));
}

interface ChildResult {
  trunk: number[];
  /** Milliseconds to touch every page of a fresh 1 GiB memory. */
  gib: number;
}

function run(hugePages: boolean): ChildResult {
  const env = { ...process.env, CHARID_HUGE_PAGES: hugePages ? "" : "off" };
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, "--child"], { env, encoding: "utf8" });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !last.startsWith("{")) throw new Error(`child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(last) as ChildResult;
}

function main(): void {
  const at = process.argv.indexOf("--rounds");
  const rounds = at > 0 ? Number(process.argv[at + 1]) : 3;
  const thp = fs.existsSync("/sys/kernel/mm/transparent_hugepage/enabled") ? fs.readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8").trim() : "unknown";
  console.log(`${cpuModel()}; transparent huge pages: ${thp}`);
  console.log(`nsfwjs MobileNetV2 @${SIZE} trunk up to block.10, batch ${BATCH}, 1 thread, a fresh process each; ${rounds} rounds`);
  const first = { off: [] as number[], on: [] as number[], ratio: [] as number[] };
  const later = { off: [] as number[], on: [] as number[], ratio: [] as number[] };
  const gib = { off: [] as number[], on: [] as number[], ratio: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const offRun = run(false);
    const onRun = run(true);
    const [off, on] = [offRun.trunk, onRun.trunk];
    gib.off.push(offRun.gib);
    gib.on.push(onRun.gib);
    gib.ratio.push(offRun.gib / onRun.gib);
    first.off.push(off[0]);
    first.on.push(on[0]);
    first.ratio.push(off[0] / on[0]);
    const [offLater, onLater] = [median(off.slice(1)), median(on.slice(1))];
    later.off.push(offLater);
    later.on.push(onLater);
    later.ratio.push(offLater / onLater);
    console.log(`round ${round + 1}: first batch ${off[0].toFixed(0)} ms without, ${on[0].toFixed(0)} ms with huge pages; later ${offLater.toFixed(0)} / ${onLater.toFixed(0)} ms; a fresh GiB ${offRun.gib.toFixed(0)} / ${onRun.gib.toFixed(0)} ms`);
  }
  const line = (what: string, m: typeof first) =>
    console.log(`${what.padEnd(12)} without ${median(m.off).toFixed(0).padStart(6)} ms   with ${median(m.on).toFixed(0).padStart(6)} ms   speed-up x${median(m.ratio).toFixed(2)} (median of rounds)`);
  line("first batch", first);
  line("later", later);
  line("fresh GiB", gib);
}

if (process.argv.includes("--child")) {
  child().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main();
}
