// A minimal zip reader for the archives torch.save writes: stored (uncompressed) entries whose
// sizes live in the central directory, and deflate when a tool recompressed the file. Entries are
// checked against their CRC-32. Zip64 (archives over 4 GiB) is refused.
import * as zlib from "node:zlib";

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
const MAX_32 = 0xffffffff;

interface ZipEntry {
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export class ZipArchive {
  private readonly entries = new Map<string, ZipEntry>();

  /** `label` (usually the file name) prefixes every error. */
  constructor(
    private readonly bytes: Buffer,
    private readonly label: string,
  ) {
    const { count, offset } = this.directoryLocation();
    let at = offset;
    for (let i = 0; i < count; i++) {
      this.expectSignature(at, DIRECTORY_ENTRY, "central directory entry");
      const nameLength = bytes.readUInt16LE(at + 28);
      const extraLength = bytes.readUInt16LE(at + 30);
      const commentLength = bytes.readUInt16LE(at + 32);
      const name = bytes.toString("utf8", at + 46, at + 46 + nameLength);
      const entry: ZipEntry = {
        method: bytes.readUInt16LE(at + 10),
        crc: bytes.readUInt32LE(at + 16),
        compressedSize: bytes.readUInt32LE(at + 20),
        size: bytes.readUInt32LE(at + 24),
        localHeaderOffset: bytes.readUInt32LE(at + 42),
      };
      if (entry.compressedSize === MAX_32 || entry.size === MAX_32 || entry.localHeaderOffset === MAX_32) this.refuseZip64();
      this.entries.set(name, entry);
      at += 46 + nameLength + extraLength + commentLength;
    }
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The entry's contents; stored entries are views into the archive's bytes, not copies. */
  read(name: string): Buffer {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${this.label}: the archive has no entry ${name}`);
    const at = entry.localHeaderOffset;
    this.expectSignature(at, LOCAL_HEADER, `local header of ${name}`);
    // The local header's own name and extra lengths count (torch pads its extra field for alignment).
    const start = at + 30 + this.bytes.readUInt16LE(at + 26) + this.bytes.readUInt16LE(at + 28);
    const end = start + entry.compressedSize;
    if (end > this.bytes.length) throw new Error(`${this.label} is truncated: entry ${name} ends past the end of the file`);
    const stored = this.bytes.subarray(start, end);
    let data: Buffer;
    if (entry.method === STORED) data = stored;
    else if (entry.method === DEFLATED) data = zlib.inflateRawSync(stored);
    else throw new Error(`${this.label}: entry ${name} uses compression method ${entry.method}; only stored and deflate are supported`);
    if (data.length !== entry.size || zlib.crc32(data) !== entry.crc) {
      throw new Error(`${this.label} is corrupt: entry ${name} fails its size or CRC-32 check`);
    }
    return data;
  }

  private directoryLocation(): { count: number; offset: number } {
    const end = this.findEndOfDirectory();
    const count = this.bytes.readUInt16LE(end + 10);
    const offset = this.bytes.readUInt32LE(end + 16);
    if (count === 0xffff || offset === MAX_32) this.refuseZip64();
    return { count, offset };
  }

  /** The end-of-central-directory record sits in the last 22 bytes plus a comment of up to 64 KiB. */
  private findEndOfDirectory(): number {
    const bytes = this.bytes;
    const lowest = Math.max(0, bytes.length - 22 - 0xffff);
    for (let at = bytes.length - 22; at >= lowest; at--) {
      if (bytes.readUInt32LE(at) === END_OF_DIRECTORY) return at;
    }
    throw new Error(`${this.label} is not a zip archive or is truncated: no end of central directory found`);
  }

  private refuseZip64(): never {
    throw new Error(`${this.label} is a zip64 archive (over 4 GiB, or over 65535 entries), which is not supported`);
  }

  private expectSignature(at: number, signature: number, what: string): void {
    if (at < 0 || at + 4 > this.bytes.length || this.bytes.readUInt32LE(at) !== signature) {
      throw new Error(`${this.label} is corrupt or truncated: no ${what} at byte ${at}`);
    }
  }
}
