// Our augmentations against torchvision 0.14's, on the same uint8 image with the same parameters:
// the functional tensor ops (adjust_*, hflip, rotate, crop, resized_crop) and the forward() of
// ColorJitter, RandomCrop and RandomRotation with their get_params fixed. The oracle is the Debian
// python (/usr/bin/python3 with python3-torchvision), run once for all jobs; skipped without it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  adjustBrightness, adjustContrast, adjustHue, adjustSaturation, applyColour, augmentToNormalizedFloat, cropFrame, cropImage,
  drawAugmentation, hflipImage, resizedCrop, rotateNearest, toUnitFloat, type ColourStep,
} from "../lib/data/augment";
import { IMAGENET_MEAN, IMAGENET_STD, preprocessSpec, type RgbImage } from "../lib/data/preprocess";
import { Rng } from "../lib/random";
import { torchMissing } from "./helpers/torch-reference";

const PYTHON = "/usr/bin/python3";
const SCRIPT = path.join(__dirname, "helpers", "augment_reference.py");
const skip = torchMissing ? `${torchMissing}: augmentation parity not checked` : false;

/**
 * Gradients (every hue sector), noise, and patches that are grey (hue undefined), saturated
 * primaries and near-black/near-white (clamping): what the colour ops and resamplers can get wrong.
 */
function syntheticPhoto(width: number, height: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (255 * x) / width;
      data[i + 1] = (255 * y) / height;
      data[i + 2] = 128 + 127 * Math.sin((x + 2 * y) / 9) + rng.int(-20, 20);
    }
  }
  const patches = [[128, 128, 128], [255, 0, 0], [0, 255, 0], [0, 0, 255], [3, 2, 5], [252, 255, 250], [200, 200, 40]];
  for (const colour of patches) {
    const [w, h] = [rng.int(2, width / 3), rng.int(2, height / 3)];
    const [left, top] = [rng.int(0, width - w), rng.int(0, height - h)];
    for (let y = top; y < top + h; y++) for (let x = left; x < left + w; x++) data.set(colour, (y * width + x) * 3);
  }
  return { data, width, height };
}

/** A resized-image-like picture (short side 109, as for 96 px) and a small odd-sized one. */
const IMAGE = syntheticPhoto(109, 137, 1);
const SMALL = syntheticPhoto(23, 17, 2);

type Job = { name: string; op: string; image: RgbImage } & Record<string, unknown>;
const jobs: Job[] = [];
let dir: string;
let reference: Map<string, Float32Array>;

function job(name: string, op: string, image: RgbImage, parameters: Record<string, unknown> = {}): void {
  jobs.push({ name, op, image, ...parameters });
}

const FACTORS = { brightness: [0, 0.5, 0.95, 1.05, 1.7], contrast: [0, 0.3, 0.9, 1.2, 2.5], saturation: [0, 0.4, 1.1, 3], hue: [-0.5, -0.23, -0.01, 0.04, 0.31, 0.5] };
for (const [op, factors] of Object.entries(FACTORS)) for (const factor of factors) job(`${op} ${factor}`, op, IMAGE, { factor });
const JITTERS: ColourStep[][] = [
  [{ op: "hue", factor: 0.2 }, { op: "brightness", factor: 1.3 }, { op: "saturation", factor: 0.6 }, { op: "contrast", factor: 1.4 }],
  [{ op: "contrast", factor: 0.7 }, { op: "saturation", factor: 1.8 }, { op: "brightness", factor: 0.8 }, { op: "hue", factor: -0.45 }],
  [{ op: "saturation", factor: 1.5 }, { op: "contrast", factor: 1.1 }],
];
JITTERS.forEach((steps, i) => job(`jitter ${i}`, "jitter", IMAGE, { steps }));
for (const image of [IMAGE, SMALL]) job(`hflip ${image.width}`, "hflip", image);
const ANGLES = [0, 0.5, 7.5, -30, 45, 90, -90, 180, 123.4, -171.9];
for (const image of [IMAGE, SMALL]) for (const angle of ANGLES) job(`rotate ${image.width} ${angle}`, "rotate", image, { angle });
// (top, left) in the padded image, as RandomCrop.get_params returns them: corners and inside.
const CROPS = [[0, 0, 0], [4, 0, 0], [4, 49, 21], [4, 20, 7], [0, 41, 13], [2, 45, 17]];
for (const [padding, top, left] of CROPS) job(`crop ${padding} ${top} ${left}`, "crop", IMAGE, { size: 96, padding, top, left });
// Enlarged 3x, nearly kept, shrunk 1.4x (antialiasing matters), squeezed in one axis only.
const BOXES = [[40, 30, 32, 32], [5, 3, 100, 97], [0, 0, 137, 109], [60, 10, 70, 90], [20, 50, 96, 40]];
for (const [top, left, boxHeight, boxWidth] of BOXES) job(`resized ${top} ${left} ${boxHeight} ${boxWidth}`, "resized_crop", IMAGE, { top, left, boxHeight, boxWidth, size: 96 });

const FULL_SPEC = { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.2, hflip: true, rotation: 30, randomResizedCrop: true };
const PIPELINE_DRAWS = [0, 1, 2, 3, 4, 5].map((index) => drawAugmentation(FULL_SPEC, 11, 3, index, cropFrame(IMAGE, 96)));
PIPELINE_DRAWS.forEach((draw, i) => {
  const box = draw.crop!.box;
  const crop = { top: box.top, left: box.left, boxHeight: box.height, boxWidth: box.width, size: 96 };
  job(`pipeline ${i}`, "pipeline", IMAGE, { ...crop, angle: draw.rotation, hflip: draw.hflip, steps: draw.colour, mean: IMAGENET_MEAN, std: IMAGENET_STD });
});

before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-augment-parity-"));
  const pixelFiles = new Map<RgbImage, string>();
  const requests = jobs.map(({ image, ...rest }, i) => {
    if (!pixelFiles.has(image)) {
      const file = path.join(dir, `image-${pixelFiles.size}.u8`);
      fs.writeFileSync(file, image.data);
      pixelFiles.set(image, file);
    }
    return { ...rest, pixels: pixelFiles.get(image), width: image.width, height: image.height, out: path.join(dir, `out-${i}.f32`) };
  });
  fs.writeFileSync(path.join(dir, "jobs.json"), JSON.stringify(requests));
  const run = spawnSync(PYTHON, [SCRIPT, path.join(dir, "jobs.json")], { encoding: "utf8" });
  assert.equal(run.status, 0, `reference script failed:\n${run.stderr}`);
  reference = new Map(
    requests.map((r) => {
      const bytes = fs.readFileSync(r.out);
      return [r.name, new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)];
    }),
  );
});
after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

interface Comparison {
  max: number;
  mean: number;
  /** Values differing by more than `over`. */
  differing: number;
}

function compare(ours: ArrayLike<number>, name: string, over = 0): Comparison {
  const theirs = reference.get(name)!;
  assert.equal(ours.length, theirs.length, `${name}: length`);
  let max = 0, sum = 0, differing = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - theirs[i]);
    max = Math.max(max, d);
    sum += d;
    if (d > over) differing++;
  }
  return { max, mean: sum / ours.length, differing };
}

/** The worst of several comparisons, for the test's diagnostic line. */
function worst(comparisons: Comparison[]): string {
  const max = Math.max(...comparisons.map((c) => c.max));
  const mean = Math.max(...comparisons.map((c) => c.mean));
  const differing = Math.max(...comparisons.map((c) => c.differing));
  return `worst max ${max.toPrecision(3)}, worst mean ${mean.toPrecision(3)}, most values differing ${differing}`;
}

function colour(image: RgbImage, adjust: (pixels: Float32Array) => void): Float32Array {
  const pixels = toUnitFloat(image.data);
  adjust(pixels);
  return pixels;
}

const ADJUST = { brightness: adjustBrightness, contrast: adjustContrast, saturation: adjustSaturation, hue: adjustHue };

// Float32 rounding only: brightness, contrast and saturation measured max 1.2e-7; hue 1.1e-6 (our
// HSV round trip runs in float64, torch's in float32, through a few divisions). Bound 3e-6, about
// 1/1300 of one 8-bit level.
test("adjust_brightness/contrast/saturation/hue match torchvision's tensor ops", { skip }, (t) => {
  const comparisons: Comparison[] = [];
  for (const [op, factors] of Object.entries(FACTORS)) {
    for (const factor of factors) {
      const d = compare(colour(IMAGE, (p) => ADJUST[op as keyof typeof ADJUST](p, factor)), `${op} ${factor}`);
      assert.ok(d.max < 3e-6, `${op} ${factor}: ${JSON.stringify(d)}`);
      comparisons.push(d);
    }
  }
  t.diagnostic(worst(comparisons));
});

// ColorJitter.forward, its permutation and factors fixed, equals our steps applied in that order,
// which is exactly the composition of the single adjustments. Measured max 1.4e-6; bound 3e-6.
test("ColorJitter with given factors and order equals the composition of the adjustments", { skip }, (t) => {
  const comparisons = JITTERS.map((steps, i) => {
    const ours = colour(IMAGE, (p) => applyColour(p, steps));
    assert.deepEqual(ours, colour(IMAGE, (p) => steps.forEach((step) => ADJUST[step.op](p, step.factor))));
    const d = compare(ours, `jitter ${i}`);
    assert.ok(d.max < 3e-6, `jitter ${i}: ${JSON.stringify(d)}`);
    return d;
  });
  const reordered = colour(IMAGE, (p) => applyColour(p, [...JITTERS[0]].reverse()));
  assert.ok(compare(reordered, "jitter 0").max > 0.05, "the order matters, so the test can see it");
  t.diagnostic(worst(comparisons));
});

test("hflip and RandomCrop (with padding) match exactly", { skip }, () => {
  for (const image of [IMAGE, SMALL]) assert.equal(compare(hflipImage(image).data, `hflip ${image.width}`).max, 0);
  for (const [padding, top, left] of CROPS) {
    const ours = cropImage(IMAGE, { top: top - padding, left: left - padding, height: 96, width: 96 });
    assert.equal(compare(ours.data, `crop ${padding} ${top} ${left}`).max, 0, `crop ${padding} ${top} ${left}`);
  }
});

// Nearest neighbour: a pixel can differ only where the sampling point falls within float32 rounding
// of a half-pixel boundary, and then it is the neighbour. We repeat torch's float32 grid arithmetic,
// so measured: identical at every angle. Bound: exact at multiples of 90 degrees, elsewhere at most
// 0.1 % of the values (room for a torch build that fuses the grid's multiply-adds differently).
test("RandomRotation (nearest, expand=False, fill 0) matches torchvision's rotate", { skip }, (t) => {
  const comparisons: Comparison[] = [];
  for (const image of [IMAGE, SMALL]) {
    for (const angle of ANGLES) {
      const d = compare(rotateNearest(image, angle).data, `rotate ${image.width} ${angle}`);
      const exact = angle % 90 === 0;
      assert.ok(exact ? d.max === 0 : d.differing <= 0.001 * image.data.length, `rotate ${image.width} by ${angle}: ${JSON.stringify(d)}`);
      comparisons.push(d);
    }
  }
  t.diagnostic(worst(comparisons));
});

// Reference: F.resized_crop on the uint8 tensor with antialias=True, the triangle filter widened by
// the shrink factor: PIL's BILINEAR (which the method's PIL pipeline used) and torchvision >= 0.17's
// default, rather than 0.14's tensor default antialias=False. Both round the float result half-even
// to uint8, so float noise at x.5 could flip a value by one level; we repeat torch's float32 weights
// and fused float32 sums, and measured: identical. Bound: 1 level on at most 0.1 % of the values.
test("RandomResizedCrop's resized_crop (bilinear, antialiased) matches torchvision", { skip }, (t) => {
  const comparisons = BOXES.map(([top, left, height, width]) => {
    const name = `resized ${top} ${left} ${height} ${width}`;
    const d = compare(resizedCrop(IMAGE, { top, left, height, width }, 96).data, name);
    assert.ok(d.max <= 1 && d.differing <= 0.001 * 96 * 96 * 3, `${name}: ${JSON.stringify(d)}`);
    return d;
  });
  t.diagnostic(worst(comparisons));
});

// The whole training transform for draws of every augmentation at once (normalised units, where one
// 8-bit level is about 0.0175). Differences come from the geometric steps' rare rounding flips
// (a neighbour pixel, or one level; none measured) plus float32 noise of the colour ops. Measured:
// max 3.5e-6, mean 3e-7. Bound: mean 1e-4 and at most 0.1 % of the values off by more than 1e-5.
test("the augmented pipeline (resized crop, rotation, flip, ColorJitter, Normalize) matches torchvision", { skip }, (t) => {
  const spec = preprocessSpec(96);
  const comparisons = PIPELINE_DRAWS.map((draw, i) => {
    const d = compare(augmentToNormalizedFloat(IMAGE, spec, draw), `pipeline ${i}`, 1e-5);
    assert.ok(d.mean < 1e-4 && d.differing <= 0.001 * 96 * 96 * 3, `pipeline ${i}: ${JSON.stringify(d)}`);
    return d;
  });
  t.diagnostic(worst(comparisons));
});
