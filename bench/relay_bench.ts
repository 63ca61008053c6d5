/**
 * Where the relay's time goes when a cell prints a lot (`tools/jupyter/relay.ts`): the work per
 * message from Deno's kernel to the frontend, without sockets (`zmtp_bench.ts` measures those).
 *
 * - one 50 MB stream message: checking and parsing it (`Signer.decode`: HMAC-SHA256 and
 *   `JSON.parse`), the output limit (`OutputCap.admit`, 10 MB), and signing what goes on: the
 *   cut 10 MB (ours) against the whole 50 MB (the relay before the limit);
 * - 20 000 printed lines of 100 bytes (Deno's kernel sends one message per `console.log`):
 *   decoding them, then signing them for the frontend one by one (the relay before) against
 *   gathered into one message (ours).
 *
 * Run: `deno bench -A --config bench/deno.json bench/relay_bench.ts`; `BENCH_SMOKE=1`: 1 MB and
 * 1 000 lines.
 */
import { type Message, newHeader, Signer } from "../tools/jupyter/wire.ts";
import { OutputCap } from "../tools/jupyter/output_cap.ts";
import { bench, SMOKE } from "./_stats.ts";

const MB = 1 << 20;
const size = SMOKE ? 1 : 50;
const LIMIT = (SMOKE ? 0.2 : 10) * MB;
const signer = new Signer("0123456789abcdef0123456789abcdef");
const encoder = new TextEncoder();
const toBytes = (frames: (string | Uint8Array)[]) =>
  frames.map((f) => typeof f === "string" ? encoder.encode(f) : f);

function stream(text: string): Message {
  return {
    identities: [],
    header: newHeader("stream", "kernel"),
    parent_header: newHeader("execute_request", "frontend"),
    metadata: {},
    content: { name: "stdout", text },
    buffers: [],
  };
}

// ---- one big message ----------------------------------------------------------------------

const bigFrames = toBytes(signer.encode(stream(`${"x".repeat(size * MB)}\n`)));
const groupBig = `relay, one ${size} MB stream message`;
const decoded = signer.decode(bigFrames)!;

bench({
  group: groupBig,
  name: "forward whole (decode + sign 50 MB): before the limit",
  baseline: true,
  n: SMOKE ? 3 : 5,
  warmup: 1,
  fn: () => {
    const m = signer.decode(bigFrames)!;
    signer.encode(m);
  },
});
bench({
  group: groupBig,
  name: "forward cut (decode + limit + sign 10 MB): ours",
  n: SMOKE ? 3 : 5,
  warmup: 1,
  fn: () => {
    const m = signer.decode(bigFrames)!;
    const cut = new OutputCap(LIMIT).admit(m)!;
    signer.encode(cut);
  },
});
bench({
  group: groupBig,
  name: "decode only (HMAC check + JSON.parse)",
  n: SMOKE ? 3 : 5,
  warmup: 1,
  fn: () => {
    signer.decode(bigFrames);
  },
});
bench({
  group: groupBig,
  name: "limit only (OutputCap.admit)",
  n: SMOKE ? 3 : 5,
  warmup: 1,
  fn: () => {
    new OutputCap(LIMIT).admit(decoded);
  },
});

// ---- many small messages --------------------------------------------------------------------

const lines = SMOKE ? 1_000 : 20_000;
const lineFrames = Array.from(
  { length: lines },
  () => toBytes(signer.encode(stream(`${"y".repeat(99)}\n`))),
);
const groupLines = `relay, ${lines} printed lines of 100 bytes`;

bench({
  group: groupLines,
  name: "decode + sign each line: before gathering",
  baseline: true,
  n: SMOKE ? 3 : 5,
  warmup: 1,
  fn: () => {
    for (const f of lineFrames) signer.encode(signer.decode(f)!);
  },
});
bench({
  group: groupLines,
  name: "decode each + sign one gathered message: ours",
  n: SMOKE ? 3 : 5,
  warmup: 1,
  fn: () => {
    const parts: string[] = [];
    let first: Message | null = null;
    for (const f of lineFrames) {
      const m = signer.decode(f)!;
      first ??= m;
      parts.push(String(m.content.text));
    }
    signer.encode({ ...first!, content: { ...first!.content, text: parts.join("") } });
  },
});
