// Builds small image files of every awkward kind a real dataset contains.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import sharp, { type Sharp } from "sharp";

export function solid(width: number, height: number, rgb: [number, number, number]): Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
}

export async function writeJpeg(file: string, width = 48, height = 40, rgb: [number, number, number] = [200, 60, 40]): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await solid(width, height, rgb).jpeg().toFile(file);
}

/** A real decompression bomb: a 1-bit greyscale PNG of `side` x `side` pixels, all zero. */
export function writePngBomb(file: string, side = 30000): void {
  const crcTable = new Int32Array(256).map((_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c;
  });
  const crc32 = (buf: Buffer): number => {
    let c = -1;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ -1) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale
  const rows = Buffer.alloc((1 + Math.ceil(side / 8)) * side);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", header),
      chunk("IDAT", zlib.deflateSync(rows, { level: 9 })),
      chunk("IEND", Buffer.alloc(0)),
    ]),
  );
}

/** Every kind of awkward-but-valid image: each must be accepted. */
export async function writeAwkwardImages(dir: string): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const files: [string, () => Promise<unknown>][] = [
    ["grey.jpg", () => solid(40, 30, [90, 90, 90]).greyscale().jpeg().toFile(path.join(dir, "grey.jpg"))],
    ["cmyk.jpg", () => solid(40, 30, [10, 120, 200]).toColourspace("cmyk").jpeg().toFile(path.join(dir, "cmyk.jpg"))],
    ["alpha.png", () => solid(40, 30, [0, 200, 0]).ensureAlpha(0.5).png().toFile(path.join(dir, "alpha.png"))],
    ["deep.png", () => solid(40, 30, [250, 20, 20]).toColourspace("rgb16").png().toFile(path.join(dir, "deep.png"))],
    ["rotated.jpg", () => solid(60, 20, [0, 0, 200]).jpeg().withMetadata({ orientation: 6 }).toFile(path.join(dir, "rotated.jpg"))],
    ["Pikachu – ピカチュウ é.jpg", () => writeJpeg(path.join(dir, "Pikachu – ピカチュウ é.jpg"))],
  ];
  for (const [, make] of files) await make();
  return files.map(([name]) => name);
}

/** Files that look like images by name but are not usable: each must be rejected, not fatal. */
export async function writeBrokenImages(dir: string): Promise<Record<string, RegExp>> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "empty.jpg"), "");
  const good = await solid(64, 64, [30, 30, 30]).jpeg().toBuffer();
  fs.writeFileSync(path.join(dir, "truncated.jpg"), good.subarray(0, Math.floor(good.length * 0.6)));
  fs.writeFileSync(path.join(dir, "page.jpg"), "<!doctype html><html><body>404 Not Found</body></html>\n");
  writePngBomb(path.join(dir, "bomb.png"));
  await solid(8, 8, [0, 0, 0]).png().toFile(path.join(dir, "tiny.png"));
  return {
    "empty.jpg": /empty file/,
    "truncated.jpg": /truncated|corrupt/,
    "page.jpg": /not an image/,
    "bomb.png": /30000x30000.*decompression bomb/,
    "tiny.png": /minimum side/,
  };
}
