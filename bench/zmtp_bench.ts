/**
 * Receiving large frames with the kit's ZMTP (tools/jupyter/zmtp.ts), as a figure of several
 * megabytes arrives on IOPub: a DEALER sends one frame of 1, 8 or 50 MB to a ROUTER over
 * loopback; a call is the time from the send to the ROUTER's `receive` of the whole frame. A
 * receive path linear in the bytes received shows as the same MB/s at every size.
 *
 * `ZMTP_BASELINE=path/to/zmtp.ts` adds, in the same run and interleaved, the rows of another
 * implementation of the receiving side (for example an older commit's file, from `git show`).
 *
 * Run: `deno bench -A --config bench/deno.json bench/zmtp_bench.ts`; `BENCH_SMOKE=1`: 1 MB only.
 */
import { ZSocket } from "../tools/jupyter/zmtp.ts";
import { bench, SMOKE } from "./_stats.ts";

interface Receiver {
  bind(host: string, port: number): number;
  receive(): Promise<Uint8Array[]>;
}
type Impl = { name: string; Socket: new (type: "ROUTER") => Receiver };

const impls: Impl[] = [{ name: "ours", Socket: ZSocket }];
const baseline = Deno.env.get("ZMTP_BASELINE");
if (baseline) {
  const mod = await import(new URL(baseline, `file://${Deno.cwd()}/`).href);
  impls.unshift({ name: `baseline (${baseline})`, Socket: mod.ZSocket });
}

const MB = 1 << 20;
const sizes = SMOKE ? [1] : [1, 8, 50];

/** A connected pair: our DEALER sending, the implementation's ROUTER receiving. */
async function pair(impl: Impl) {
  const router = new impl.Socket("ROUTER");
  const port = router.bind("127.0.0.1", 0);
  const dealer = new ZSocket("DEALER");
  dealer.connect("127.0.0.1", port);
  dealer.send(["ready?"]);
  await router.receive(); // the connection is up
  return { router, dealer };
}
const pairs = new Map<Impl, Awaited<ReturnType<typeof pair>>>();
for (const impl of impls) pairs.set(impl, await pair(impl));

for (const size of sizes) {
  const frame = new Uint8Array(size * MB);
  for (let i = 0; i < frame.length; i += 65_536) {
    crypto.getRandomValues(frame.subarray(i, i + 65_536));
  }
  for (const impl of impls) {
    const { router, dealer } = pairs.get(impl)!;
    bench({
      group: `zmtp receive, one ${size} MB frame`,
      name: impl.name,
      baseline: impl.name !== "ours",
      n: SMOKE ? 3 : size >= 50 ? 5 : 10,
      warmup: 1,
      fn: async () => {
        dealer.send([frame]);
        const [, body] = await router.receive();
        if (body.length !== frame.length) throw new Error(`got ${body.length} bytes`);
      },
    });
  }
}
