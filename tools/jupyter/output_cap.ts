/**
 * The relay's per-cell output limit: how many bytes of output one cell may send to the frontend.
 * A cell that prints 50 MB would otherwise make Jupyter (and the relay) parse, sign, send,
 * render and save 50 MB, and a notebook with such an output is hard to open again. Past the
 * limit the cell's further output is dropped and, once the cell ends, one notice says how much
 * was not shown (as VS Code and JupyterLab do with their own, smaller, display limits).
 *
 * What counts: the UTF-8 bytes of `stream` text, of the values of `display_data`,
 * `update_display_data` and `execute_result` (`data`), and of an `error`'s evalue and
 * traceback. Stream text is cut at the limit (on a character boundary); a rich output that does
 * not fit whole is dropped; an error past the limit is kept with its text cut, so that a
 * student still sees that, and why, the cell failed. The cell's value (`execute_result`, one
 * per cell) is shown whenever it alone fits in the limit, even after the cell printed too much,
 * so a cell sends at most twice the limit. `clear_output` passes and resets nothing.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Message } from "./wire.ts";

/** The default limit: 10 MB (MiB, 2²⁰ bytes). */
export const DEFAULT_OUTPUT_LIMIT = 10 * 2 ** 20;

/** How many characters of a cut error's evalue are kept. */
const ERROR_KEEP_CHARS = 2_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 length of `s` (native: a 50 MB string is measured without being encoded). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/**
 * The longest prefix of `s` whose UTF-8 form fits in `bytes`, cut on a character boundary.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { utf8Length, utf8Prefix } from "./output_cap.ts";
 * assert.equal(utf8Length("aé€😀"), 1 + 2 + 3 + 4);
 * assert.equal(utf8Prefix("aé€😀", 5), "aé"); // "€" needs 3 bytes, 2 are left
 * assert.equal(utf8Prefix("aé€😀", 9), "aé€");
 * assert.equal(utf8Prefix("aé€😀", 10), "aé€😀");
 * ```
 */
export function utf8Prefix(s: string, bytes: number): string {
  if (bytes <= 0) return "";
  if (s.length <= bytes && utf8Length(s) <= bytes) return s;
  // Only the first `bytes` characters can fit (each takes at least one byte).
  const head = encoder.encode(s.slice(0, bytes));
  let end = Math.min(bytes, head.length);
  while (end > 0 && (head[end] & 0xc0) === 0x80) end--; // do not split a character
  return decoder.decode(head.subarray(0, end));
}

/** "10 MB", "42.3 MB", "0.5 MB" (MB = 2²⁰ bytes). */
export function formatMB(bytes: number): string {
  const mb = bytes / 2 ** 20;
  return `${mb >= 10 || Number.isInteger(mb) ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}

function dataBytes(data: unknown): number {
  if (!data || typeof data !== "object") return 0;
  let n = 0;
  for (const v of Object.values(data as Record<string, unknown>)) {
    n += typeof v === "string" ? utf8Length(v) : utf8Length(JSON.stringify(v) ?? "");
  }
  return n;
}

/**
 * One cell's output budget.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { OutputCap } from "./output_cap.ts";
 * import { newHeader, type Message } from "./wire.ts";
 * const stream = (text: string): Message => ({
 *   identities: [], header: newHeader("stream", "k"), parent_header: {}, metadata: {},
 *   content: { name: "stdout", text }, buffers: [],
 * });
 * const cap = new OutputCap(2 ** 20); // 1 MB
 * assert.equal(cap.admit(stream("a".repeat(600_000)))?.content.text, "a".repeat(600_000));
 * const cut = cap.admit(stream("b".repeat(600_000)));
 * assert.equal(String(cut?.content.text).length, 2 ** 20 - 600_000);
 * assert.equal(cap.admit(stream("c")), null);
 * assert.equal(cap.notice(), "output cut at 1 MB; 0.1 MB not shown");
 * // The cell's value is still shown when it fits in the limit by itself.
 * const value: Message = { ...stream(""), header: newHeader("execute_result", "k"),
 *   content: { data: { "text/plain": "42" } } };
 * assert.equal(cap.admit(value), value);
 * ```
 */
export class OutputCap {
  #used = 0;
  #dropped = 0;

  /** `limit`: bytes of output the cell may send. */
  constructor(readonly limit: number) {}

  /** Bytes sent so far. */
  get used(): number {
    return this.#used;
  }

  /** Bytes not shown so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The message to forward (`msg`, or a copy with its text cut), or null to drop it. */
  admit(msg: Message): Message | null {
    const type = msg.header.msg_type;
    const left = this.limit - this.#used;
    if (type === "stream") {
      const text = String(msg.content.text ?? "");
      const size = utf8Length(text);
      if (size <= left) {
        this.#used += size;
        return msg;
      }
      const kept = utf8Prefix(text, left);
      const keptBytes = utf8Length(kept);
      this.#used += keptBytes;
      this.#dropped += size - keptBytes;
      return kept ? { ...msg, content: { ...msg.content, text: kept } } : null;
    }
    if (type === "display_data" || type === "update_display_data" || type === "execute_result") {
      const size = dataBytes(msg.content.data);
      if (size <= left || (type === "execute_result" && size <= this.limit)) {
        this.#used += size;
        return msg;
      }
      this.#dropped += size;
      return null;
    }
    if (type === "error") {
      const evalue = String(msg.content.evalue ?? "");
      const traceback = Array.isArray(msg.content.traceback) ? msg.content.traceback : [];
      const size = utf8Length(evalue) + traceback.reduce((n, l) => n + utf8Length(String(l)), 0);
      if (size <= left) {
        this.#used += size;
        return msg;
      }
      // Keep the error visible: its name and the start of its message.
      const short = evalue.length > ERROR_KEEP_CHARS
        ? `${evalue.slice(0, ERROR_KEEP_CHARS)}…`
        : evalue;
      const keptBytes = utf8Length(short);
      this.#used += keptBytes;
      this.#dropped += Math.max(0, size - keptBytes);
      return { ...msg, content: { ...msg.content, evalue: short, traceback: [] } };
    }
    return msg;
  }

  /** The notice to show under the cell, or null when nothing was cut. */
  notice(): string | null {
    if (!this.#dropped) return null;
    return `output cut at ${formatMB(this.limit)}; ${formatMB(this.#dropped)} not shown`;
  }
}

/**
 * The limit from `KIT_RELAY_OUTPUT_LIMIT_MB` (a positive number of MB, 2²⁰ bytes), else
 * {@link DEFAULT_OUTPUT_LIMIT}. A value that is not a positive number is an error naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { outputLimitFrom, DEFAULT_OUTPUT_LIMIT } from "./output_cap.ts";
 * assert.equal(outputLimitFrom(undefined), DEFAULT_OUTPUT_LIMIT);
 * assert.equal(outputLimitFrom("0.5"), 2 ** 19);
 * assert.throws(() => outputLimitFrom("ten"), /KIT_RELAY_OUTPUT_LIMIT_MB/);
 * ```
 */
export function outputLimitFrom(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_OUTPUT_LIMIT;
  const mb = Number(value);
  if (!Number.isFinite(mb) || mb <= 0) {
    throw new Error(
      `KIT_RELAY_OUTPUT_LIMIT_MB=${JSON.stringify(value)} is not a positive number of MB ` +
        "(for example 10, or 0.5)",
    );
  }
  return Math.floor(mb * 2 ** 20);
}
