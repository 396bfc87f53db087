// Where pretrained weights come from: "embedded" is the backbone this project pretrains itself
// (npm run pretrain), checked against the hash in its provenance file; anything else is a path.
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { projectRoot } from "./jupyter/kernelspec";

export const EMBEDDED_WEIGHTS = path.join("data", "pretrained", "mobilenet_v2_0.5_96");

export function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** The folder or file to load weights from; for "embedded", after checking the weights' hash. */
export function resolveWeights(spec: string, root = projectRoot()): string {
  if (spec !== "embedded") return spec;
  const dir = path.join(root, EMBEDDED_WEIGHTS);
  const provenanceFile = path.join(dir, "provenance.json");
  if (!fs.existsSync(provenanceFile)) {
    throw new Error(`the embedded backbone is missing (${provenanceFile}): run \`npm run pretrain\` to make it`);
  }
  const { sha256: expected } = JSON.parse(fs.readFileSync(provenanceFile, "utf8")) as { sha256: string };
  const actual = sha256(path.join(dir, "weights.bin"));
  if (actual !== expected) {
    throw new Error(`${dir}/weights.bin does not match its provenance (sha256 ${actual.slice(0, 12)}…, expected ${expected.slice(0, 12)}…): restore it with git or rerun \`npm run pretrain\``);
  }
  return dir;
}
