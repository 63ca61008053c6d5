/**
 * The Jupyter messaging wire format (protocol 5.3): message and header types, the IOPub message
 * types, HMAC-SHA256 signing and framing (`[identities..., "<IDS|MSG>", signature, header,
 * parent_header, metadata, content, buffers...]`), connection files and free loopback ports,
 * and a timeout helper. Pure data and small helpers: the sockets that carry messages are
 * `channel.ts` over `zmtp.ts`.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** A Jupyter message header. */
export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
  [key: string]: unknown;
}

/** A decoded Jupyter message; `identities` are the ZeroMQ routing frames before the delimiter. */
export interface Message {
  identities: Uint8Array[];
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  buffers: Uint8Array[];
}

/** IOPub message types that are outputs of a cell (nbformat outputs, or changes to them). */
export const OUTPUT_TYPES: ReadonlySet<string> = new Set([
  "stream",
  "display_data",
  "update_display_data",
  "execute_result",
  "error",
  "clear_output",
]);

/** Every IOPub message type of protocol 5.3. */
export const IOPUB_TYPES: ReadonlySet<string> = new Set([
  ...OUTPUT_TYPES,
  "status",
  "execute_input",
  "comm_open",
  "comm_msg",
  "comm_close",
  "debug_event",
]);

/** The frame between routing identities and the signed parts. */
export const DELIM = "<IDS|MSG>";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Lower-case hex of bytes. */
export function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The largest delay `setTimeout` honours (2³¹−1 ms); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Waits for `promise` at most `ms` milliseconds: resolves to its value, or to `onTimeout`
 * when time runs out first (the timer is always cleared). Delays past {@link MAX_TIMER_MS}
 * are clamped to it instead of firing at once as `setTimeout` would.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { withTimeout } from "./wire.ts";
 * assert.equal(await withTimeout(Promise.resolve(1), 1000, "late"), 1);
 * assert.equal(await withTimeout(new Promise(() => {}), 10, "late"), "late");
 * ```
 */
export async function withTimeout<T, U>(
  promise: Promise<T>,
  ms: number,
  onTimeout: U,
): Promise<T | U> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<U>((r) => {
    timer = setTimeout(() => r(onTimeout), Math.max(0, Math.min(ms, MAX_TIMER_MS)));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes a Jupyter connection file for Deno's kernel on 127.0.0.1 with the given ports
 * (shell, iopub, stdin, control, hb) and HMAC key, in a new temporary folder named `prefix…`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeConnectionFile } from "./wire.ts";
 * const { dir, file } = await writeConnectionFile("kit-doc-", [1, 2, 3, 4, 5], "k");
 * assert.equal(JSON.parse(await Deno.readTextFile(file)).iopub_port, 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeConnectionFile(
  prefix: string,
  ports: readonly number[],
  key: string,
): Promise<{ dir: string; file: string }> {
  const [shell, iopub, stdin, control, hb] = ports;
  const dir = await Deno.makeTempDir({ prefix });
  const file = `${dir}/connection.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      ip: "127.0.0.1",
      transport: "tcp",
      shell_port: shell,
      iopub_port: iopub,
      stdin_port: stdin,
      control_port: control,
      hb_port: hb,
      signature_scheme: "hmac-sha256",
      key,
      kernel_name: "deno",
    }),
  );
  return { dir, file };
}

/** Free loopback TCP ports: bind port 0, read the port, close (all held until all are read). */
export function freePorts(n: number, hostname = "127.0.0.1"): number[] {
  const listeners = Array.from({ length: n }, () => Deno.listen({ hostname, port: 0 }));
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

/**
 * Signs and checks messages with a connection file's key (`signature_scheme: hmac-sha256`).
 * Only `channel.ts` uses it: every message the kit sends or receives goes through a `Channel`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { newHeader, Signer } from "./wire.ts";
 * const signer = new Signer("key");
 * const header = newHeader("kernel_info_request", "s");
 * const frames = signer.encode({ header, parent_header: {}, metadata: {}, content: {} });
 * const bytes = frames.map((f) => typeof f === "string" ? new TextEncoder().encode(f) : f);
 * assert.equal(signer.decode(bytes)?.header.msg_id, header.msg_id);
 * assert.equal(new Signer("other key").decode(bytes), null);
 * ```
 */
export class Signer {
  #key: string;

  /** An empty key disables signing, as the messaging specification allows. */
  constructor(key: string) {
    this.#key = key;
  }

  /** Hex HMAC of the four JSON parts (empty string when signing is disabled). */
  sign(parts: readonly (string | Uint8Array)[]): string {
    if (!this.#key) return "";
    const h = createHmac("sha256", this.#key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  /** Frames of `msg`, signed. */
  encode(msg: Omit<Message, "identities" | "buffers"> & Partial<Message>): (string | Uint8Array)[] {
    const parts = [
      JSON.stringify(msg.header),
      JSON.stringify(msg.parent_header),
      JSON.stringify(msg.metadata),
      JSON.stringify(msg.content),
    ];
    const frames: (string | Uint8Array)[] = [...(msg.identities ?? []), DELIM];
    frames.push(this.sign(parts), ...parts, ...(msg.buffers ?? []));
    return frames;
  }

  /** Decodes frames; null when the frames are malformed or the signature does not match. */
  decode(frames: Uint8Array[]): Message | null {
    let i = 0;
    while (i < frames.length && !isDelim(frames[i])) i++;
    if (frames.length < i + 6) return null;
    // The HMAC runs over the frames as received (not re-encoded from the decoded strings: a
    // 50 MB output would be encoded once more for nothing).
    const want = encoder.encode(this.sign(frames.slice(i + 2, i + 6))), got = frames[i + 1];
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    const [h, p, m, c] = frames.slice(i + 2, i + 6).map((f) => decoder.decode(f));
    try {
      return {
        identities: frames.slice(0, i),
        header: JSON.parse(h),
        parent_header: JSON.parse(p),
        metadata: JSON.parse(m),
        content: JSON.parse(c),
        buffers: frames.slice(i + 6),
      };
    } catch {
      return null;
    }
  }
}

const delimBytes = encoder.encode(DELIM);
function isDelim(f: Uint8Array): boolean {
  return f.length === delimBytes.length && f.every((b, i) => b === delimBytes[i]);
}

/** The `execute_request` content of a kit helper cell (no history, no execution count). */
export function helperContent(code: string): Record<string, unknown> {
  return {
    code,
    silent: false,
    store_history: false,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: false,
  };
}

/** A new header for a message of `msgType` in `session`. */
export function newHeader(msgType: string, session: string, msgId = crypto.randomUUID()): Header {
  return {
    msg_id: msgId,
    session,
    username: "kit",
    date: new Date().toISOString(),
    msg_type: msgType,
    version: "5.3",
  };
}
