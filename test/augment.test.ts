import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import {
  adjustBrightness, adjustContrast, adjustHue, adjustSaturation, applyGeometry, augmentedSamplePngs, augmentedSamples,
  augmentToNormalizedFloat, checkAugmentSpec, cropFrame, cropImage, describeAugment, drawAugmentation, hflipImage,
  resizedCrop, rotateNearest, toUnitFloat, type AugmentSpec,
} from "../lib/data/augment";
import { brightnessFactor } from "../lib/data/batches";
import { decodeResized, decodeResizedImage, preprocessSpec, toNormalizedFloat, type RgbImage } from "../lib/data/preprocess";
import { hashSeed, Rng } from "../lib/random";

const EVERYTHING: AugmentSpec = { brightness: 0.3, contrast: 0.2, saturation: 0.5, hue: 0.1, hflip: true, rotation: 20, randomResizedCrop: true };
const FRAME = { width: 109, height: 140, size: 96 };
let dir: string;
let photo: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-augment-"));
  photo = path.join(dir, "photo.jpg");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><rect width="400" height="300" fill="#3a7"/>
    <circle cx="150" cy="120" r="90" fill="#fc0"/><text x="40" y="270" font-size="60" fill="#114">Pika</text></svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toFile(photo);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function image(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  return { data, width, height };
}

test("a draw is a pure function of (seed, epoch, index), new every epoch, each transform on its own stream", () => {
  const draw = drawAugmentation(EVERYTHING, 3, 2, 7, FRAME);
  assert.deepEqual(drawAugmentation(EVERYTHING, 3, 2, 7, FRAME), draw);
  assert.notDeepEqual(drawAugmentation(EVERYTHING, 3, 3, 7, FRAME), draw, "another epoch");
  assert.notDeepEqual(drawAugmentation(EVERYTHING, 3, 2, 8, FRAME), draw, "another image");
  assert.notDeepEqual(drawAugmentation(EVERYTHING, 4, 2, 7, FRAME), draw, "another seed");
  // The seed's brightness stream, unchanged since brightness was the only augmentation.
  const historical = new Rng(hashSeed(3, "brightness", 2, 7)).float(0.7, 1.3);
  assert.equal(draw.colour.find((step) => step.op === "brightness")!.factor, historical);
  assert.equal(brightnessFactor(0.3, 3, 2, 7), historical);
  const brightnessOnly = drawAugmentation({ brightness: 0.3 }, 3, 2, 7);
  assert.deepEqual(brightnessOnly, { hflip: false, colour: [{ op: "brightness", factor: historical }] });
  assert.deepEqual(drawAugmentation({}, 3, 2, 7), { hflip: false, colour: [] });
  assert.deepEqual(drawAugmentation({ brightness: 0 }, 3, 2, 7).colour, [], "ColorJitter(brightness=0) does nothing");
});

test("drawn parameters stay in their ranges and cover them", () => {
  const orders = new Set<string>();
  let flips = 0;
  const seen = { brightness: [Infinity, -Infinity], hue: [Infinity, -Infinity], rotation: [Infinity, -Infinity] };
  const widen = (range: number[], value: number) => [Math.min(range[0], value), Math.max(range[1], value)];
  for (let index = 0; index < 3000; index++) {
    const draw = drawAugmentation(EVERYTHING, 1, 0, index, FRAME);
    orders.add(draw.colour.map((step) => step.op).join());
    flips += Number(draw.hflip);
    for (const { op, factor } of draw.colour) if (op === "brightness" || op === "hue") seen[op] = widen(seen[op], factor);
    seen.rotation = widen(seen.rotation, draw.rotation!);
    const { box, resize } = draw.crop!;
    assert.ok(resize && box.top >= 0 && box.left >= 0 && box.top + box.height <= FRAME.height && box.left + box.width <= FRAME.width);
    const scale = (box.width * box.height) / (FRAME.width * FRAME.height);
    const ratio = box.width / box.height;
    assert.ok(scale > 0.07 && scale <= 1 && ratio > 0.7 && ratio < 1.4, JSON.stringify(box));
  }
  assert.equal(orders.size, 24, "ColorJitter's random order: all 4! permutations");
  assert.ok(flips > 1350 && flips < 1650, `p = 0.5: ${flips} of 3000`);
  assert.ok(seen.brightness[0] >= 0.7 && seen.brightness[0] < 0.71 && seen.brightness[1] < 1.3 && seen.brightness[1] > 1.29);
  assert.ok(seen.hue[0] >= -0.1 && seen.hue[0] < -0.099 && seen.hue[1] <= 0.1 && seen.hue[1] > 0.099);
  assert.ok(seen.rotation[0] >= -20 && seen.rotation[0] < -19.9 && seen.rotation[1] <= 20 && seen.rotation[1] > 19.9);

  const padded = Array.from({ length: 500 }, (_, index) => drawAugmentation({ randomCrop: { padding: 4 } }, 1, 0, index, FRAME).crop!.box);
  assert.deepEqual([Math.min(...padded.map((b) => b.top)), Math.max(...padded.map((b) => b.top))], [-4, FRAME.height - 96 + 4]);
  assert.deepEqual([Math.min(...padded.map((b) => b.left)), Math.max(...padded.map((b) => b.left))], [-4, FRAME.width - 96 + 4]);
  assert.ok(padded.every((b) => b.width === 96 && b.height === 96));

  // No window of area >= 95 % and aspect 2..3 fits a square: RandomResizedCrop's centre fallback.
  const fallback = drawAugmentation({ randomResizedCrop: { scale: [0.95, 1], ratio: [2, 3] } }, 1, 0, 0, { width: 100, height: 100, size: 96 });
  assert.deepEqual(fallback.crop, { box: { top: 25, left: 0, height: 50, width: 100 }, resize: true });
  assert.throws(() => drawAugmentation({ randomCrop: true }, 1, 0, 0), /need the frame/);
});

test("bad specs are refused with the reason", () => {
  const cases: [unknown, RegExp][] = [
    [{ hue: 0.7 }, /hue must be in \[0, 0\.5\], got 0\.7/],
    [{ brightness: -1 }, /brightness must be >= 0, got -1/],
    [{ contrast: Number.NaN }, /contrast must be >= 0/],
    [{ rotation: 200 }, /rotation must be in \[0, 180\] degrees/],
    [{ flip: true }, /unknown augmentation "flip"/],
    [{ hflip: 0.5 }, /hflip must be true or false/],
    [{ randomCrop: true, randomResizedCrop: true }, /exclude each other/],
    [{ randomCrop: { padding: 1.5 } }, /padding must be an integer >= 0/],
    [{ randomResizedCrop: { scale: [0.5, 0.2] } }, /scale must be \[min, max\] with 0 < min <= max <= 1/],
    [{ randomResizedCrop: { ratio: [0, 1] } }, /ratio must be \[min, max\]/],
  ];
  for (const [spec, message] of cases) assert.throws(() => checkAugmentSpec(spec as AugmentSpec), message, JSON.stringify(spec));
  assert.equal(checkAugmentSpec(EVERYTHING), EVERYTHING);
  assert.equal(describeAugment({ hue: 0.1, hflip: true }), "hue 0.1 + hflip");
  assert.equal(describeAugment({}), "none");
});

test("geometric ops: flips, quarter turns, padding and an unscaled resize behave as expected", () => {
  const small = image(3, 2, (x, y) => [x, y, 10 * x + y]);
  assert.deepEqual(hflipImage(hflipImage(small)), small);
  assert.deepEqual(Array.from(hflipImage(small).data.subarray(0, 3)), [2, 0, 20]);
  const square = image(4, 4, (x, y) => [x, y, 0]);
  // 90 degrees counter-clockwise: the top row comes from the right column.
  const turned = rotateNearest(square, 90);
  assert.deepEqual(Array.from({ length: 4 }, (_, x) => turned.data[x * 3]), [3, 3, 3, 3]);
  assert.deepEqual(rotateNearest(rotateNearest(square, 90), -90), square);
  const padded = cropImage(square, { top: -1, left: -1, height: 4, width: 4 });
  assert.deepEqual(Array.from(padded.data.subarray(0, 6)), [0, 0, 0, 0, 0, 0], "zero padding");
  assert.deepEqual(Array.from(padded.data.subarray(15, 18)), [0, 0, 0], "row 1 starts in the padding");
  assert.deepEqual(Array.from(padded.data.subarray(30, 33)), [1, 1, 0], "(2, 2) is the source's (1, 1)");
  const box = { top: 1, left: 0, height: 3, width: 4 };
  assert.deepEqual(resizedCrop(square, { ...box, width: 3 }, 3), cropImage(square, { ...box, width: 3 }), "same size: a plain crop");
});

test("colour ops: factor 1 and hue 0 change nothing, 0 gives black, the grey mean, grey", () => {
  const pixels = toUnitFloat(image(8, 8, (x, y) => [30 * x, 20 + 25 * y, (x * y * 7) % 256]).data);
  const apply = (adjust: (p: Float32Array, f: number) => void, factor: number) => {
    const copy = pixels.slice();
    adjust(copy, factor);
    return copy;
  };
  for (const adjust of [adjustBrightness, adjustContrast, adjustSaturation]) {
    assert.ok(apply(adjust, 1).every((v, i) => Math.abs(v - pixels[i]) < 1e-7));
  }
  assert.ok(apply(adjustHue, 0).every((v, i) => Math.abs(v - pixels[i]) < 1e-6));
  assert.ok(apply(adjustBrightness, 0).every((v) => v === 0));
  const flat = apply(adjustContrast, 0);
  assert.ok(flat.every((v) => Math.abs(v - flat[0]) < 1e-7));
  const grey = apply(adjustSaturation, 0);
  for (let i = 0; i < grey.length; i += 3) assert.ok(grey[i] === grey[i + 1] && grey[i + 1] === grey[i + 2]);
  assert.ok(apply(adjustBrightness, 3).every((v) => v <= 1), "clamped to 1");
});

test("the pipeline: centre crop of the whole image is the plain path; brightness-only takes its exact lookup table", async () => {
  const spec = preprocessSpec(96);
  const whole = await decodeResizedImage(photo, spec);
  assert.deepEqual([whole.width, whole.height], [145, 109]);
  const centre = await decodeResized(photo, spec);
  const plain = toNormalizedFloat(centre, spec);
  assert.deepEqual(applyGeometry(whole, 96, { hflip: false, colour: [] }).data, centre);
  assert.deepEqual(augmentToNormalizedFloat(whole, spec, { hflip: false, colour: [] }), plain);
  const cropped = { data: centre, width: 96, height: 96 };
  const brightness = { hflip: false, colour: [{ op: "brightness" as const, factor: 1.04 }] };
  assert.deepEqual(augmentToNormalizedFloat(cropped, spec, brightness), toNormalizedFloat(centre, spec, { brightness: 1.04 }));
  const out = new Float32Array(3 * 96 * 96 * 3);
  augmentToNormalizedFloat(whole, spec, drawAugmentation(EVERYTHING, 0, 0, 0, cropFrame(whole, 96)), { out, offset: 96 * 96 * 3 });
  assert.ok(out.subarray(0, 96 * 96 * 3).every((v) => v === 0) && out.subarray(96 * 96 * 3, 2 * 96 * 96 * 3).some((v) => v !== 0));
});

// Augmenting must cost far less than decoding. Measured here (2 shared cores): decode of a 400x300
// JPEG to 96 px about 2.5 ms; every augmentation at once about 0.35 ms, colour jitter alone 0.25 ms.
test("augmenting a 96 px image costs far less than decoding it", async (t) => {
  const spec = preprocessSpec(96);
  const time = async (runs: number, work: (i: number) => unknown) => {
    const start = performance.now();
    for (let i = 0; i < runs; i++) await work(i);
    return (performance.now() - start) / runs;
  };
  await time(5, () => decodeResizedImage(photo, spec));
  const decode = await time(30, () => decodeResizedImage(photo, spec));
  const whole = await decodeResizedImage(photo, spec);
  const frame = cropFrame(whole, 96);
  const out = new Float32Array(96 * 96 * 3);
  const costs: Record<string, number> = {};
  for (const [name, augment] of Object.entries({ everything: EVERYTHING, colour: { brightness: 0.3, contrast: 0.2, saturation: 0.5, hue: 0.1 }, brightness: { brightness: 0.05 } })) {
    await time(50, (i) => augmentToNormalizedFloat(whole, spec, drawAugmentation(augment, 0, 0, i, frame), { out }));
    costs[name] = await time(200, (i) => augmentToNormalizedFloat(whole, spec, drawAugmentation(augment, 0, 0, i, frame), { out }));
  }
  t.diagnostic(`ms per image: decode ${decode.toFixed(2)}, ${Object.entries(costs).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(", ")}`);
  assert.ok(costs.everything < decode, `everything at once: ${costs.everything.toFixed(2)} ms vs decoding ${decode.toFixed(2)} ms`);
  assert.ok(costs.brightness < decode / 10, `brightness: ${costs.brightness.toFixed(2)} ms vs decoding ${decode.toFixed(2)} ms`);
});

test("augmentedSamples shows one file under successive draws, as pixels or PNGs", async () => {
  const samples = await augmentedSamples(photo, { hue: 0.5, randomResizedCrop: true }, 64, 1, 3);
  assert.equal(samples.length, 3);
  assert.ok(samples.every((s) => s.width === 64 && s.height === 64 && s.data.length === 64 * 64 * 3));
  assert.notDeepEqual(samples[0].data, samples[1].data);
  assert.deepEqual(await augmentedSamples(photo, { hue: 0.5, randomResizedCrop: true }, 64, 1, 3), samples);
  const plain = await augmentedSamples(photo, {}, 64, 1, 1);
  assert.deepEqual(plain[0].data, await decodeResized(photo, preprocessSpec(64)));
  const pngs = await augmentedSamplePngs(photo, { hflip: true }, 64, 1, 2);
  const meta = await sharp(pngs[0]).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ["png", 64, 64]);
  await assert.rejects(augmentedSamples(photo, { hue: 0.7 }, 64, 1, 1), /hue must be in \[0, 0\.5\]/);
});
