/**
 * Zip files in and out (npm `fflate`), with every entry name treated as hostile data.
 *
 * Reading never writes an entry to disk under its name: an entry is its (normalised) name and
 * its bytes in memory, and callers decide what a name means. What is refused, each with a
 * reason the caller reports: directories, symbolic links and other non-regular entries (from
 * the central directory's external attributes, which fflate does not expose), encrypted
 * entries, names with a NUL or another control character, absolute names, drive letters, `..`
 * segments, entries whose declared size is over the limit, and archives with too many entries
 * or too many bytes in all (a zip bomb is refused from its declared sizes before anything is
 * inflated; fflate inflates into a buffer of the declared size, so a lying header cannot make
 * it allocate more).
 *
 * Writing is deterministic (fixed timestamps, sorted names), so the same files give the same
 * zip bytes.
 *
 * @module
 */
import { unzipSync, type Zippable, zipSync } from "fflate";

/** One file of a zip, read into memory. */
export interface ZipEntry {
  /** The entry's name: `/`-separated, NFC-normalised, never absolute, never with `..`. */
  name: string;
  data: Uint8Array;
  /** Modification time from the entry's DOS date and time (read as UTC), ms since 1970. */
  mtime?: number;
}

/** An entry that was not read, and why. */
export interface ZipSkipped {
  name: string;
  why: string;
}

/** Limits of {@link readZip}. */
export interface ZipLimits {
  maxEntries: number;
  /** Largest uncompressed size of one entry (bytes). */
  maxEntryBytes: number;
  /** Largest uncompressed size of all entries together (bytes). */
  maxTotalBytes: number;
}

/** Defaults: a class's "download all submissions" zip, with room to spare. */
export const ZIP_LIMITS: ZipLimits = {
  maxEntries: 20_000,
  maxEntryBytes: 64 * 2 ** 20,
  maxTotalBytes: 1024 * 2 ** 20,
};

/** A zip that cannot be read at all (not a zip, over the limits); names the file. */
export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ZipError";
  }
}

interface CentralEntry {
  name: string;
  rawName: Uint8Array;
  flags: number;
  compressedSize: number;
  size: number;
  /** Host OS of "version made by" (3 = Unix) and the external attributes. */
  host: number;
  external: number;
  mtime: number;
}

/** Reads the central directory (names, sizes, attributes) without inflating anything. */
function centralDirectory(buf: Uint8Array, label: string): CentralEntry[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError(`${label}: not a zip file (no end of central directory)`);
  let count = dv.getUint16(eocd + 10, true);
  let offset = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || offset === 0xffffffff) {
    // ZIP64: the locator sits right before the end record.
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) {
      throw new ZipError(`${label}: a ZIP64 archive without its locator`);
    }
    const rec = Number(dv.getBigUint64(loc + 8, true));
    if (rec + 56 > buf.length || dv.getUint32(rec, true) !== 0x06064b50) {
      throw new ZipError(`${label}: a broken ZIP64 end record`);
    }
    count = Number(dv.getBigUint64(rec + 32, true));
    offset = Number(dv.getBigUint64(rec + 48, true));
  }
  const out: CentralEntry[] = [];
  let p = offset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || dv.getUint32(p, true) !== 0x02014b50) {
      throw new ZipError(`${label}: a broken central directory (entry ${k + 1})`);
    }
    const host = dv.getUint8(p + 5);
    const time = dv.getUint16(p + 12, true), date = dv.getUint16(p + 14, true);
    const mtime = Date.UTC(
      1980 + (date >> 9),
      ((date >> 5) & 15) - 1,
      date & 31,
      time >> 11,
      (time >> 5) & 63,
      (time & 31) * 2,
    );
    const flags = dv.getUint16(p + 8, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    const external = dv.getUint32(p + 38, true);
    const rawName = buf.subarray(p + 46, p + 46 + nameLen);
    // ZIP64 extra field: the real sizes when the 32-bit ones are saturated.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = dv.getUint16(e, true), len = dv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff && q + 8 <= e + 4 + len) {
          size = Number(dv.getBigUint64(q, true));
          q += 8;
        }
        if (compressedSize === 0xffffffff && q + 8 <= e + 4 + len) {
          compressedSize = Number(dv.getBigUint64(q, true));
        }
      }
      e += 4 + len;
    }
    const name = flags & 0x800
      ? new TextDecoder("utf-8", { fatal: false }).decode(rawName)
      : latin1(rawName);
    out.push({ name, rawName, flags, compressedSize, size, host, external, mtime });
    p = end + commentLen;
  }
  return out;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/**
 * Why an entry name is refused, or null when it is a safe relative name. Backslashes count as
 * separators (zips written on Windows use them).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { unsafeName } from "./zip.ts";
 * assert.strictEqual(unsafeName("Ana_1_assignsubmission_file_/01.ipynb"), null);
 * assert.match(unsafeName("../../etc/passwd")!, /\.\./);
 * assert.match(unsafeName("/etc/passwd")!, /absolute/);
 * assert.match(unsafeName("C:\\x.ipynb")!, /absolute/);
 * assert.match(unsafeName("a\u0000b")!, /control/);
 * ```
 */
export function unsafeName(name: string): string | null {
  if (name === "") return "an empty name";
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return "a control character in the name";
  const n = name.replace(/\\/g, "/");
  if (n.startsWith("/") || /^[A-Za-z]:/.test(n)) return "an absolute path";
  if (n.split("/").some((s) => s === "..")) return 'a ".." segment';
  return null;
}

/**
 * Reads a zip into memory: the regular files that pass {@link unsafeName} and the limits, and
 * the entries skipped with why. Throws a {@link ZipError} (naming `label`) for a file that is
 * not a zip or is over the archive-wide limits.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readZip, writeZip } from "./zip.ts";
 * const zip = writeZip([{ name: "a/b.txt", data: new TextEncoder().encode("hi") }]);
 * const { entries, skipped } = readZip(zip, "test.zip");
 * assert.deepStrictEqual(entries.map((e) => e.name), ["a/b.txt"]);
 * assert.strictEqual(new TextDecoder().decode(entries[0].data), "hi");
 * assert.deepStrictEqual(skipped, []);
 * assert.strictEqual(entries[0].mtime, Date.UTC(2000, 0, 1));
 * ```
 */
export function readZip(
  bytes: Uint8Array,
  label: string,
  limits: ZipLimits = ZIP_LIMITS,
): { entries: ZipEntry[]; skipped: ZipSkipped[]; folders: string[] } {
  const central = centralDirectory(bytes, label);
  if (central.length > limits.maxEntries) {
    throw new ZipError(
      `${label}: ${central.length} entries, more than the ${limits.maxEntries} accepted`,
    );
  }
  const skipped: ZipSkipped[] = [];
  const folders: string[] = [];
  const accept = new Map<string, CentralEntry>();
  let total = 0;
  for (const c of central) {
    const shown = c.name.normalize("NFC");
    const isDir = c.name.endsWith("/") || c.name.endsWith("\\");
    const unixType = c.host === 3 ? (c.external >>> 16) & 0o170000 : 0;
    const why = isDir
      ? null // folders carry no data; their files are entries of their own
      : unsafeName(c.name) ??
        (unixType !== 0 && unixType !== 0o100000
          ? unixType === 0o120000 ? "a symbolic link" : "not a regular file"
          : null) ??
        (c.flags & 1 ? "encrypted" : null) ??
        (c.size > limits.maxEntryBytes
          ? `${c.size} bytes uncompressed, over the ${limits.maxEntryBytes} accepted`
          : null);
    if (isDir) {
      if (!unsafeName(c.name)) {
        folders.push(c.name.replace(/\\/g, "/").replace(/\/$/, "").normalize("NFC"));
      }
      continue;
    }
    if (why) {
      skipped.push({ name: shown, why });
      continue;
    }
    total += c.size;
    if (total > limits.maxTotalBytes) {
      throw new ZipError(
        `${label}: over ${limits.maxTotalBytes} bytes uncompressed in all; unpack it and ` +
          `pass the folder instead if it is genuine`,
      );
    }
    accept.set(c.name, c);
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        const c = accept.get(f.name);
        // The local header must agree with the central directory the checks were made on.
        return c !== undefined && f.originalSize === c.size;
      },
    });
  } catch (e) {
    throw new ZipError(`${label}: cannot be unpacked (${(e as Error).message})`);
  }
  const entries: ZipEntry[] = [];
  for (const name of accept.keys()) {
    const data = files[name];
    if (!data) {
      skipped.push({ name: name.normalize("NFC"), why: "its headers disagree" });
      continue;
    }
    entries.push({
      name: name.replace(/\\/g, "/").normalize("NFC"),
      data,
      mtime: accept.get(name)!.mtime,
    });
  }
  return { entries, skipped, folders };
}

/** A deterministic zip of the given files (names sorted, fixed timestamps, deflate level 6). */
export function writeZip(files: readonly ZipEntry[]): Uint8Array {
  const tree: Zippable = {};
  const mtime = new Date("2000-01-01T00:00:00Z");
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const bad = unsafeName(f.name);
    if (bad) throw new ZipError(`writeZip: refusing the name "${f.name}" (${bad})`);
    tree[f.name] = [f.data, { mtime }];
  }
  return zipSync(tree, { level: 6, mtime });
}
