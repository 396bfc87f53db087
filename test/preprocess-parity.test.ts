// Our preprocessing against the reference: torchvision 0.14 on PIL images, run through the Debian
// python (/usr/bin/python3 with python3-torchvision). Both JPEG decoders are libjpeg-turbo
// (sharp's mozjpeg build, PIL's libjpeg62-turbo) and decode these files bit-identically, so the
// differences left are the resamplers'. Skipped where torchvision is not installed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { decodeResized, preprocessSpec, toNormalizedFloat, type PreprocessSpec } from "../lib/data/preprocess";
import { Rng } from "../lib/random";
import { writeAwkwardImages } from "./helpers/bad-images";

const PYTHON = "/usr/bin/python3";
const findsTorchvision = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('torchvision') else 1)";
const torchMissing = spawnSync(PYTHON, ["-c", findsTorchvision]).status !== 0;
const skip = torchMissing ? `torchvision not importable by ${PYTHON} (apt install python3-torchvision): parity not checked` : false;

// Reads a JSON list of jobs; writes each result as raw float32, HWC, to job["out"].
const REFERENCE_SCRIPT = String.raw`
import json, sys
import numpy as np, torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import functional as F

def hwc(t):
    return t.permute(1, 2, 0).contiguous().numpy().astype(np.float32)

for job in json.load(open(sys.argv[1])):
    normalize = T.Normalize(job["mean"], job["std"])
    if job["kind"] == "preprocess":
        pipeline = T.Compose([T.Resize(job["resize"]), T.CenterCrop(job["crop"]), T.ToTensor(), normalize])
        out = hwc(pipeline(Image.open(job["file"]).convert("RGB")))
    else:
        crop = job["crop"]
        pixels = np.fromfile(job["pixels"], dtype=np.uint8).reshape(crop, crop, 3)
        if job["kind"] == "brightness-tensor":
            tensor = torch.from_numpy(pixels).permute(2, 0, 1).float().div(255)
            out = hwc(normalize(F.adjust_brightness(tensor, job["factor"])))
        else:
            image = F.adjust_brightness(Image.fromarray(pixels), job["factor"])
            out = hwc(normalize(F.to_tensor(image)))
    out.tofile(job["out"])
`;

type Job = PreprocessSpec & ({ kind: "preprocess"; file: string } | { kind: "brightness-tensor" | "brightness-pil"; pixels: string; factor: number });

let dir: string;

/** One python run (importing torch takes seconds) for all the jobs. */
function torchvision(jobs: Job[]): Float32Array[] {
  const requests = jobs.map((job, i) => ({ ...job, out: path.join(dir, `ref-${i}.f32`) }));
  const requestFile = path.join(dir, "jobs.json");
  fs.writeFileSync(requestFile, JSON.stringify(requests));
  const run = spawnSync(PYTHON, ["-c", REFERENCE_SCRIPT, requestFile], { encoding: "utf8" });
  assert.equal(run.status, 0, `reference script failed:\n${run.stderr}`);
  return requests.map((r) => {
    const bytes = fs.readFileSync(r.out);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  });
}

interface Difference {
  max: number;
  mean: number;
}

function difference(ours: Float32Array, reference: Float32Array): Difference {
  assert.equal(ours.length, reference.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - reference[i]);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / ours.length };
}

/** A photo-like test card: gradients, hard edges, thin lines and text, so resampling shows. */
function testCard(seed: number): string {
  const rng = new Rng(seed);
  const shapes: string[] = [];
  for (let i = 0; i < 40; i++) {
    const colour = `rgb(${rng.int(0, 255)},${rng.int(0, 255)},${rng.int(0, 255)})`;
    if (rng.chance(0.5)) shapes.push(`<circle cx="${rng.int(0, 800)}" cy="${rng.int(0, 800)}" r="${rng.int(5, 120)}" fill="${colour}"/>`);
    else shapes.push(`<line x1="${rng.int(0, 800)}" y1="${rng.int(0, 800)}" x2="${rng.int(0, 800)}" y2="${rng.int(0, 800)}" stroke="${colour}" stroke-width="${rng.int(1, 6)}"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="800">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#123"/><stop offset="1" stop-color="#fd8"/></linearGradient></defs>
    <rect width="800" height="800" fill="url(#g)"/>${shapes.join("")}
    <text x="60" y="420" font-size="140" font-family="sans-serif" fill="#fff" stroke="#000" stroke-width="3">Pika 42</text></svg>`;
}

/** Upright JPEGs, portrait and landscape, enlarged and shrunk by the resizes to 255 and 109 px. */
const SHAPES: [number, number][] = [
  [700, 500], [420, 900], [150, 200], [320, 180], [255, 383], [256, 256], [600, 600], [181, 640], [1100, 1300], [1600, 1024],
];
const SPECS = [preprocessSpec(224), preprocessSpec(96)];

async function writeJpeg(width: number, height: number, seed: number): Promise<string> {
  const file = path.join(dir, `card-${width}x${height}.jpg`);
  await sharp(Buffer.from(testCard(seed))).resize(width, height, { fit: "fill" }).jpeg({ quality: 90 }).toFile(file);
  return file;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-parity-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function worstOf(differences: Difference[]): Difference {
  return {
    max: Math.max(...differences.map((d) => d.max)),
    mean: Math.max(...differences.map((d) => d.mean)),
  };
}

// Measured (normalised units; one 8-bit level is 1/255/std, about 0.0175), over SHAPES x SPECS:
//   enlarged, or shrunk less than 4x (14 cases): max 0.053 (3 levels), worst image mean 0.0036.
//   shrunk 4x or more (6 cases; libvips box-shrinks first): max 0.40 (23 levels, at hard edges),
//   worst image mean 0.011. Bounds below leave headroom for other content.
test("decodeResized + toNormalizedFloat match torchvision's Resize/CenterCrop/ToTensor/Normalize", { skip }, async () => {
  const files = await Promise.all(SHAPES.map(([w, h], i) => writeJpeg(w, h, i + 1)));
  const cases = SPECS.flatMap((spec) => files.map((file, i) => ({ file, spec, shrink: Math.min(...SHAPES[i]) / spec.resize })));
  const references = torchvision(cases.map((c) => ({ kind: "preprocess", file: c.file, ...c.spec })));
  const below4x: Difference[] = [];
  const from4x: Difference[] = [];
  for (const [i, c] of cases.entries()) {
    const d = difference(toNormalizedFloat(await decodeResized(c.file, c.spec), c.spec), references[i]);
    (c.shrink < 4 ? below4x : from4x).push(d);
  }
  assert.deepEqual([below4x.length, from4x.length], [14, 6]);
  const close = worstOf(below4x);
  assert.ok(close.max < 0.075 && close.mean < 0.005, `enlarged or shrunk < 4x: ${JSON.stringify(close)}`);
  const far = worstOf(from4x);
  assert.ok(far.max < 0.6 && far.mean < 0.015, `shrunk >= 4x: ${JSON.stringify(far)}`);
});

// Measured: tensor path (adjust_brightness on the ToTensor output) max 4.8e-7, float32 rounding;
// PIL path (ColorJitter before ToTensor) max 0.0175 = one 8-bit level, as PIL's blend rounds to uint8.
test("the brightness factor matches torchvision's adjust_brightness", { skip }, async () => {
  const spec = preprocessSpec(64);
  const pixels = await decodeResized(await writeJpeg(300, 200, 9), spec);
  const pixelFile = path.join(dir, "pixels.u8");
  fs.writeFileSync(pixelFile, pixels);
  const factors = [0.95, 1.05, 1, 0.4, 1.8];
  const references = torchvision(
    (["brightness-tensor", "brightness-pil"] as const).flatMap((kind) => factors.map((factor) => ({ kind, pixels: pixelFile, factor, ...spec }))),
  );
  factors.forEach((factor, i) => {
    const ours = toNormalizedFloat(pixels, spec, { brightness: factor });
    const tensor = difference(ours, references[i]);
    assert.ok(tensor.max < 1e-5, `factor ${factor}, tensor path: ${JSON.stringify(tensor)}`);
    const pil = difference(ours, references[factors.length + i]);
    assert.ok(pil.max < 1 / 255 / 0.224 + 1e-5, `factor ${factor}, PIL path: ${JSON.stringify(pil)}`);
  });
  assert.ok(difference(toNormalizedFloat(pixels, spec, { brightness: 1.8 }), toNormalizedFloat(pixels, spec)).max > 0.1);
});

test("EXIF orientation is applied: a rotated-by-tag JPEG decodes like the upright one", async () => {
  const upright = await writeJpeg(300, 200, 5);
  const stored = path.join(dir, "stored-sideways.jpg");
  // Orientation 6 means "rotate 90 degrees clockwise to display": store the pixels turned back.
  await sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toFile(stored);
  const spec = preprocessSpec(64);
  const a = toNormalizedFloat(await decodeResized(upright, spec), spec);
  const b = toNormalizedFloat(await decodeResized(stored, spec), spec);
  assert.ok(difference(a, b).mean < 0.03, `mean difference ${difference(a, b).mean}`);
});

test("greyscale, CMYK, alpha, 16-bit and rotated files all decode to 8-bit RGB", async () => {
  const awkward = path.join(dir, "awkward");
  const spec = preprocessSpec(32);
  const firstPixel = new Map<string, number[]>();
  for (const name of await writeAwkwardImages(awkward)) {
    const pixels = await decodeResized(path.join(awkward, name), spec);
    assert.equal(pixels.length, 32 * 32 * 3, name);
    firstPixel.set(name, Array.from(pixels.subarray(0, 3)));
  }
  assert.deepEqual(firstPixel.get("grey.jpg"), [90, 90, 90]);
  // Half-transparent green: alpha is dropped like PIL's convert("RGB"), not flattened on white.
  assert.deepEqual(firstPixel.get("alpha.png"), [0, 200, 0]);
  assert.deepEqual(firstPixel.get("deep.png"), [250, 20, 20]);
});

test("preprocessSpec keeps the 255/224 ratio", () => {
  assert.deepEqual([224, 96, 128, 299].map((s) => preprocessSpec(s).resize), [255, 109, 146, 340]);
  assert.equal(preprocessSpec(96).crop, 96);
  assert.throws(() => preprocessSpec(0), /positive integer/);
});
