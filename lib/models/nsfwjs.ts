// Pretrained Keras backbones that the nsfwjs npm package bundles as JS modules (a topology module and
// base64 weight shards, uint8-quantized), loaded from node_modules with no network: the trunk of
// its MobileNetV2 (up to out_relu) or InceptionV3 (up to mixed10), without nsfwjs's own
// 5-class head, then global average pooling and a new Dense head, as loadKerasModel builds them.
// Input convention of both: RGB / 255, no mean or std.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { checkLayersModelJson, layersModelHandler, withNewHead } from "./keras";
import { kerasTrunkTopology } from "./keras-topology";

const PACKAGE = "nsfwjs";

export interface NsfwjsBackboneInfo {
  /** The size it was trained at: where it transfers best. */
  nativeSize: number;
  /** The smallest input its strides and valid paddings take. */
  minSize: number;
  /** The last layer of the trunk. */
  trunkEnd: string;
  description: string;
}

export const NSFWJS_BACKBONES = {
  mobilenet_v2: { nativeSize: 224, minSize: 32, trunkEnd: "out_relu", description: "Keras MobileNetV2, alpha 1.0" },
  inception_v3: { nativeSize: 299, minSize: 75, trunkEnd: "mixed10", description: "Keras InceptionV3" },
} as const satisfies Record<string, NsfwjsBackboneInfo>;

export type NsfwjsBackboneName = keyof typeof NSFWJS_BACKBONES;

export const NSFWJS_BACKBONE_NAMES = Object.keys(NSFWJS_BACKBONES) as NsfwjsBackboneName[];

export function isNsfwjsBackbone(name: string): name is NsfwjsBackboneName {
  return Object.prototype.hasOwnProperty.call(NSFWJS_BACKBONES, name);
}

export interface LoadNsfwjsOptions {
  /** The new head's classes. */
  numClasses: number;
  /** Height and width of the input images (default the native size). */
  inputSize?: number;
  /** Seeds the new head's initialisers. */
  seed?: number;
}

export interface NsfwjsProvenance {
  /** e.g. "npm:nsfwjs@4.4.0/mobilenet_v2". */
  source: string;
  version: string;
  /** The package's integrity hash in the project's package-lock.json. */
  integrity?: string;
  /** sha256 of the (quantized) weight bytes, all shards in the manifest's order. */
  weightsSha256: string;
}

export interface NsfwjsBackbone {
  model: tf.LayersModel;
  provenance: NsfwjsProvenance;
}

/** What an nsfwjs/models/<name> module exports (its only export). */
interface NsfwjsModelDefinition {
  name: string;
  options?: { size?: number; type?: string };
  modelJson(): Promise<tf.io.ModelJSON & { default?: tf.io.ModelJSON }>;
}

/**
 * The trunk of nsfwjs's `name` model with a fresh `predictions` head for `numClasses`, taking
 * images of `inputSize` (default the native size; RGB / 255). Every layer is trainable; its
 * BatchNormalization layers are BatchNorm layers, which freezeBefore can freeze.
 */
export async function loadNsfwjsBackbone(name: string, options: LoadNsfwjsOptions): Promise<NsfwjsBackbone> {
  const backbone = checkedName(name);
  const { nativeSize, minSize, trunkEnd } = NSFWJS_BACKBONES[backbone];
  const inputSize = options.inputSize ?? nativeSize;
  if (!Number.isInteger(inputSize) || inputSize < minSize) throw new Error(`nsfwjs ${backbone}: inputSize must be a whole number of at least ${minSize} pixels, got ${inputSize}`);
  const source = `${PACKAGE}/models/${backbone}`;
  const modelJson = checkLayersModelJson(await packagedModelJson(backbone), source);
  const shards = readShards(backbone, modelJson);
  const topology = kerasTrunkTopology(modelJson.modelTopology as object, { end: trunkEnd, inputSize, name: `nsfwjs_${backbone}` });
  // Not strict: the weights of nsfwjs's head have no layer in the trunk.
  const trunk = await tf.loadLayersModel(layersModelHandler({ ...modelJson, modelTopology: topology }, () => shards), { strict: false });
  const listed = new Set(modelJson.weightsManifest.flatMap((group) => group.weights.map((weight) => weight.name)));
  const missing = trunk.weights.filter((weight) => !listed.has(weight.originalName)).map((weight) => weight.originalName);
  if (missing.length > 0) {
    trunk.dispose();
    throw new Error(`${source}: the weights manifest lacks ${missing.join(", ")}`);
  }
  return { model: withNewHead(trunk, options.numClasses, options.seed), provenance: provenanceOf(backbone, shards) };
}

/** Where the weights of nsfwjs's `name` model come from (reads and hashes them). */
export async function nsfwjsProvenance(name: string): Promise<NsfwjsProvenance> {
  const backbone = checkedName(name);
  return provenanceOf(backbone, readShards(backbone, await packagedModelJson(backbone)));
}

function checkedName(name: string): NsfwjsBackboneName {
  if (isNsfwjsBackbone(name)) return name;
  const choose = `choose one of ${NSFWJS_BACKBONE_NAMES.join(", ")}`;
  if (packagedModelNames().includes(name) && definition(name).options?.type === "graph") {
    throw new Error(`nsfwjs's ${name} is a TensorFlow.js graph model, whose weights are frozen into the graph: it cannot be fine-tuned; ${choose}`);
  }
  throw new Error(`unknown nsfwjs backbone "${name}"; ${choose}`);
}

function packageRoot(): string {
  // The package's "exports" hide its package.json from require.resolve.
  return path.join(path.dirname(require.resolve(PACKAGE)), "..", "..");
}

function packageJson(): { version: string; exports?: Record<string, unknown> } {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string; exports?: Record<string, unknown> };
}

/** The models the package exports as nsfwjs/models/<name>. */
function packagedModelNames(): string[] {
  return Object.keys(packageJson().exports ?? {}).flatMap((key) => /^\.\/models\/([\w-]+)$/.exec(key)?.[1] ?? []);
}

function definition(name: string): NsfwjsModelDefinition {
  const exported = require(`${PACKAGE}/models/${name}`) as Record<string, NsfwjsModelDefinition>;
  return Object.values(exported)[0];
}

async function packagedModelJson(name: NsfwjsBackboneName): Promise<tf.io.ModelJSON> {
  const json = await definition(name).modelJson();
  return json.default ?? json;
}

/**
 * The weight shards named in the manifest, decoded from the modules beside model.min.js in
 * dist/models/<name>. They are required directly: the definition's weightBundles load them through
 * a wrapper that copies each of a shard's millions of characters into a property of its own
 * (InceptionV3: 42 s and 2.4 GB instead of 1 s).
 */
function readShards(name: NsfwjsBackboneName, modelJson: tf.io.ModelJSON): ArrayBuffer[] {
  const dir = path.join(packageRoot(), "dist", "models", name);
  return modelJson.weightsManifest.flatMap((group) => group.paths).map((shard) => {
    const file = path.join(dir, `${shard}.min.js`);
    if (!fs.existsSync(file)) throw new Error(`${PACKAGE}/models/${name}: weight shard ${file} is missing; reinstall the package (npm ci)`);
    const base64 = require(file) as unknown;
    delete require.cache[file]; // tens of MB of text, decoded once
    if (typeof base64 !== "string") throw new Error(`${file} does not export a base64 string`);
    const bytes = Buffer.from(base64, "base64");
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  });
}

function provenanceOf(name: NsfwjsBackboneName, shards: ArrayBuffer[]): NsfwjsProvenance {
  const { version } = packageJson();
  const hash = createHash("sha256");
  for (const shard of shards) hash.update(new Uint8Array(shard));
  return { source: `npm:${PACKAGE}@${version}/${name}`, version, integrity: lockedIntegrity(), weightsSha256: hash.digest("hex") };
}

/** The integrity hash package-lock.json records for the installed package, if the project has one. */
function lockedIntegrity(): string | undefined {
  const root = packageRoot();
  const projectRoot = path.join(root, "..", "..");
  const lockFile = path.join(projectRoot, "package-lock.json");
  if (!fs.existsSync(lockFile)) return undefined;
  const lock = JSON.parse(fs.readFileSync(lockFile, "utf8")) as { packages?: Record<string, { integrity?: string }> };
  return lock.packages?.[path.relative(projectRoot, root).split(path.sep).join("/")]?.integrity;
}
